"""RQ jobs of the activity log: thin wrappers around its services."""

import logging

from activities.services import activity_partitions_maintain

logger = logging.getLogger(__name__)


def run_activity_partitions_maintain() -> int:
    """Returns how many partitions were created or dropped."""
    result = activity_partitions_maintain()
    if result.created or result.dropped:
        logger.info(
            "activity partitions: created %s, dropped %s",
            ", ".join(result.created) or "none", ", ".join(result.dropped) or "none",
        )
    return len(result.created) + len(result.dropped)
