from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "marketo_sync.sync"
    label = "sync"
    verbose_name = "Salesforce sync"

    def ready(self) -> None:
        from marketo_sync.sync.memory import return_large_buffers_to_the_os

        return_large_buffers_to_the_os()
