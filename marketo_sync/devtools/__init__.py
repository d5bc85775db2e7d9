"""Development tools: `manage.py demo` and `manage.py sfdc_sandbox`.

Installed only with `DEBUG=1` or `DEV_TOOLS=1`, so a deploy has neither command. This app may
import every layer; nothing else imports it.
"""
