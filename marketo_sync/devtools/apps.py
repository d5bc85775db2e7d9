from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    name = "marketo_sync.devtools"
    label = "devtools"
    verbose_name = "Development tools"
