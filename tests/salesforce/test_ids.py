import pytest

from marketo_sync.salesforce.ids import InvalidSalesforceId, normalize_sfdc_id

# Published 15 → 18 character examples.
KNOWN = [
    ("0019000000B98de", "0019000000B98deAAB"),
    ("a0D30000001n7Pi", "a0D30000001n7PiEAI"),
    ("0019000000oC4Hk", "0019000000oC4HkAAK"),
]


@pytest.mark.parametrize(("id15", "id18"), KNOWN)
def test_15_char_ids_gain_the_checksum_suffix(id15, id18):
    assert normalize_sfdc_id(id15) == id18


@pytest.mark.parametrize(("id15", "id18"), KNOWN)
def test_18_char_ids_are_kept_and_suffix_case_is_canonicalised(id15, id18):
    assert normalize_sfdc_id(id18) == id18
    assert normalize_sfdc_id(id18[:15] + id18[15:].lower()) == id18


def test_case_matters_in_the_15_char_part():
    assert normalize_sfdc_id("50130000000014c") != normalize_sfdc_id("50130000000014C")


@pytest.mark.parametrize(
    "bad",
    ["", "001", "0019000000B98deAA", "0019000000B98de!", "0019000000B98deAAC", None, 12345],
)
def test_bad_ids_are_rejected_with_a_clear_message(bad):
    with pytest.raises(InvalidSalesforceId, match="is not a Salesforce id"):
        normalize_sfdc_id(bad)
