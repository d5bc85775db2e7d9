"""Lead conversion the way Salesforce users do it: the partner SOAP API's convertLead."""

import requests
from simple_salesforce import Salesforce

SOAP = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:urn="urn:partner.soap.sforce.com">
  <soapenv:Header><urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader>
  </soapenv:Header>
  <soapenv:Body><urn:convertLead><urn:leadConverts>
    <urn:leadId>{lead}</urn:leadId>
    <urn:convertedStatus>Closed - Converted</urn:convertedStatus>
    <urn:opportunityName>First order</urn:opportunityName>
  </urn:leadConverts></urn:convertLead></soapenv:Body>
</soapenv:Envelope>"""


def soap_convert_lead(sf: Salesforce, lead_id: str) -> requests.Response:
    return sf.session.post(
        f"{sf.base_url.split('/services')[0]}/services/Soap/u/59.0",
        data=SOAP.format(token=sf.session_id, lead=lead_id),
        headers={"Content-Type": "text/xml", "SOAPAction": "convertLead"},
        timeout=10,
    )
