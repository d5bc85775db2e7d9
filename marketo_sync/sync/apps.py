from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "marketo_sync.sync"
    label = "sync"
    verbose_name = "Salesforce sync"
