import pytest

from core import normalise


@pytest.mark.parametrize("name", [
    "华为技术有限公司", "华为技术", "华为技术 股份有限公司", "华为技术有限责任公司", "华为技术集团有限公司",
    "华为技术 Co., Ltd.", " 华为 技术（有限公司） ", "华为技术公司", "华为技术集团公司",
])
def test_chinese_legal_forms_spaces_and_punctuation_do_not_matter(name):
    assert normalise.company(name) == "华为技术"


@pytest.mark.parametrize("name", [
    "Acme Co., Ltd.", "ACME CO LTD", "Acme Limited", "Acme, Inc.", "acme LLC", "Acme Corp.", "Acme GmbH",
    "ＡＣＭＥ　Ｃｏ．，Ｌｔｄ．", "  acme  ", "Acme Corporation", "Acme Company Limited",
])
def test_latin_legal_forms_case_and_full_width(name):
    assert normalise.company(name) == "acme"


def test_latin_suffix_only_as_a_whole_word():
    assert normalise.company("Costco") == "costco"
    assert normalise.company("Incorporated Ideas Ltd") == "incorporatedideas"


def test_mixed_names_and_names_made_only_of_a_legal_form():
    assert normalise.company("ABC科技 Co., Ltd.") == normalise.company("ａｂｃ科技有限公司") == "abc科技"
    assert normalise.company("有限公司") == "有限公司"
    assert normalise.company("Ltd") == "ltd"
    assert normalise.company("!!!") == "" and normalise.company(None) == ""


def test_different_companies_stay_different():
    assert normalise.company("西门子（中国）有限公司") != normalise.company("西门子有限公司")
    assert normalise.company("Acme 1 Ltd") != normalise.company("Acme 2 Ltd")


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "8613800138000",
                                 "(+86) 138.0013.8000", "１３８００１３８０００"])
def test_mobile_prefixes_and_separators(raw):
    assert normalise.phone(raw) == "13800138000"


def test_phone_prefix_dropped_only_on_mobile_numbers():
    assert normalise.phone("010-8888 6666") == "01088886666"
    assert normalise.phone("+86 10 8888 6666") == "861088886666"   # not a mobile: left as typed
    assert normalise.phone("86 1234") == "861234"
    assert normalise.phone("") == "" and normalise.phone(None) == ""


def test_email():
    assert normalise.email("  Li.Na@Example.COM ") == "li.na@example.com"
    assert normalise.email(None) == ""
