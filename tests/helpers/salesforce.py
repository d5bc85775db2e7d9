"""Reading simple-salesforce's answers in tests."""

from typing import Any

from simple_salesforce.exceptions import SalesforceError


def error_body(error: SalesforceError) -> Any:
    """The parsed JSON errors Salesforce answered with.

    simple-salesforce stores the parsed body in `content` but annotates it as the raw bytes.
    """
    return error.content
