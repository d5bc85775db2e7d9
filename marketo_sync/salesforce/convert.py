"""Lead conversion: Salesforce has no REST resource for it, so this is the SOAP `convertLead`
call of the partner API, plus the look-ups a safe retry needs.
"""

from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import ElementTree
from simple_salesforce import Salesforce, SFType
from simple_salesforce.format import format_soql

from marketo_sync.salesforce.client import SalesforceClient
from marketo_sync.salesforce.errors import SalesforceRequestError

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"


@dataclass(frozen=True)
class ConvertOptions:
    converted_status: str
    owner_id: str = ""
    send_notification_email: bool = False
    opportunity_name: str = ""


@dataclass(frozen=True)
class ConvertedIds:
    account_id: str
    contact_id: str
    opportunity_id: str


def envelope(session_id: str, lead_id: str, options: ConvertOptions) -> bytes:
    """The SOAP request, every value escaped."""
    parts = [
        f"<urn:leadId>{escape(lead_id)}</urn:leadId>",
        f"<urn:convertedStatus>{escape(options.converted_status)}</urn:convertedStatus>",
        "<urn:doNotCreateOpportunity>false</urn:doNotCreateOpportunity>",
        "<urn:sendNotificationEmail>"
        f"{'true' if options.send_notification_email else 'false'}</urn:sendNotificationEmail>",
    ]
    if options.owner_id:
        parts.append(f"<urn:ownerId>{escape(options.owner_id)}</urn:ownerId>")
    if options.opportunity_name:
        parts.append(f"<urn:opportunityName>{escape(options.opportunity_name)}</urn:opportunityName>")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" '
        f'xmlns:urn="{PARTNER}"><soapenv:Header><urn:SessionHeader><urn:sessionId>'
        f"{escape(session_id)}</urn:sessionId></urn:SessionHeader></soapenv:Header>"
        f"<soapenv:Body><urn:convertLead><urn:leadConverts>{''.join(parts)}</urn:leadConverts>"
        "</urn:convertLead></soapenv:Body></soapenv:Envelope>"
    ).encode()


def text_of(node: Element, name: str) -> str:
    found = node.find(f"{{{PARTNER}}}{name}")
    return (found.text or "") if found is not None else ""


def convert_lead(client: SalesforceClient, lead_id: str, options: ConvertOptions) -> ConvertedIds:
    """Convert one lead; an expired session re-logs in, 5xx and drops are retried by `request`."""

    response = client.request(
        "POST",
        f"/services/Soap/u/{client.config.api_version}",
        body=lambda session_id: envelope(session_id, lead_id, options),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "convertLead"},
    )
    try:
        root = ElementTree.fromstring(response.content)
    except ElementTree.ParseError:
        raise SalesforceRequestError("convertLead: Salesforce sent an unreadable answer") from None
    fault = root.find(f".//{{{SOAP_ENV}}}Fault")
    if fault is not None:
        raise SalesforceRequestError(
            f"convertLead failed: {fault.findtext('faultstring', 'SOAP fault')}"
        )
    result = root.find(f".//{{{PARTNER}}}result")
    if result is None:
        raise SalesforceRequestError("convertLead: no result in Salesforce's answer")
    if text_of(result, "success") != "true":
        errors = result.find(f"{{{PARTNER}}}errors")
        code = text_of(errors, "statusCode") if errors is not None else ""
        message = text_of(errors, "message") if errors is not None else "unknown error"
        raise SalesforceRequestError(f"convertLead refused: {code}: {message}", code)
    return ConvertedIds(
        account_id=text_of(result, "accountId"),
        contact_id=text_of(result, "contactId"),
        opportunity_id=text_of(result, "opportunityId"),
    )


def lead_conversion_state(client: SalesforceClient, lead_id: str) -> ConvertedIds | None:
    """The ids a lead was converted to, or None while it is not converted."""
    soql = format_soql(
        "SELECT IsConverted, ConvertedAccountId, ConvertedContactId, ConvertedOpportunityId "
        "FROM Lead WHERE Id = {}",
        lead_id,
    )
    records = client.call(lambda sf: sf.query(soql))["records"]
    if not records:
        raise SalesforceRequestError(f"lead {lead_id} does not exist in Salesforce", "NOT_FOUND")
    lead = records[0]
    if not lead["IsConverted"]:
        return None
    return ConvertedIds(
        account_id=lead["ConvertedAccountId"] or "",
        contact_id=lead["ConvertedContactId"] or "",
        opportunity_id=lead["ConvertedOpportunityId"] or "",
    )


def lead_find_or_create(client: SalesforceClient, fields: dict, since: datetime) -> str:
    """The lead created for this email since `since` (an earlier attempt made it but its id was
    lost), else a new one. Look-up and create are one callable, so each retry `call` makes after
    a lost answer (the lead may exist by then) looks again before it creates."""
    soql = format_soql(
        "SELECT Id FROM Lead WHERE Email = {} AND CreatedDate >= {} ORDER BY CreatedDate LIMIT 1",
        fields["Email"],
        since,
    )

    def find_or_create(sf: Salesforce) -> str:
        records = sf.query(soql)["records"]
        if records:
            return records[0]["Id"]
        lead = sf.Lead
        assert isinstance(lead, SFType)  # only `bulk` and `bulk2` name the bulk handlers
        return lead.create(fields)["id"]

    return client.call(find_or_create)


def converted_statuses(client: SalesforceClient) -> list[str]:
    """`LeadStatus` values that mean converted (the picklist alone does not say)."""
    soql = "SELECT ApiName FROM LeadStatus WHERE IsConverted = true ORDER BY SortOrder"
    return [r["ApiName"] for r in client.call(lambda sf: sf.query(soql))["records"]]
