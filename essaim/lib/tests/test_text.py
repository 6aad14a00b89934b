import random
import unicodedata

import pytest

from essaim.lib.text import (
    InvalidValue,
    clean_name,
    clean_postcode,
    fold,
    french_sort_key,
    normalize_email,
    normalize_phone,
)


def test_email_domain_is_lower_cased_and_local_part_kept():
    assert normalize_email("  Jean.Dupont@Exemple.FR ") == (
        "Jean.Dupont@exemple.fr",
        "jean.dupont@exemple.fr",
    )


def test_same_address_in_different_case_has_one_key():
    assert normalize_email("MARIE@x.fr")[1] == normalize_email("marie@X.FR")[1]


def test_idn_domain_is_idna_encoded():
    assert normalize_email("elu@élysée.fr")[0] == "elu@xn--lyse-9oad.fr"


def test_plus_address_is_kept_as_typed():
    assert normalize_email("camille+campagne@gmail.com")[0] == "camille+campagne@gmail.com"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "adresse vide"),
        ("   ", "adresse vide"),
        ("pas-une-adresse", "adresse sans @ ou avec plusieurs @"),
        ("a@b@c.fr", "adresse sans @ ou avec plusieurs @"),
        ("@x.fr", "partie avant @ invalide"),
        ("jean@", "domaine vide"),
        ("jean@localhost", "domaine invalide"),
        ("jean@x..fr", "domaine invalide"),
        ("jean@-x.fr", "domaine invalide"),
        ("jean@1.2.3.4", "domaine invalide"),
        ("jean@x.²", "domaine invalide"),  # IDNA maps "²" to "2": an all-digit top level
        ("jean@x.123", "domaine invalide"),
        ("jé@x.fr", "partie avant @ invalide"),
        ("a" * 65 + "@x.fr", "partie avant @ invalide"),
        ("<script>@x.fr", "partie avant @ invalide"),
    ],
)
def test_invalid_addresses_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidValue) as excinfo:
        normalize_email(raw)
    assert str(excinfo.value) == reason


def test_french_phone_becomes_e164():
    assert normalize_phone("06 12 34 56 78") == "+33612345678"
    assert normalize_phone("+33 6 12 34 56 78") == "+33612345678"
    assert normalize_phone("") == ""


@pytest.mark.parametrize("raw", ["12", "abc", "+33 1"])
def test_bad_phone_is_refused(raw):
    with pytest.raises(InvalidValue):
        normalize_phone(raw)


def test_postcode_gets_back_its_lost_leading_zero():
    assert clean_postcode("1000") == "01000"
    assert clean_postcode(" 75 011 ") == "75011"
    assert clean_postcode("") == ""
    assert clean_postcode(" \t") == ""
    assert clean_postcode(" 1000\n") == "01000"


@pytest.mark.parametrize(
    "raw",
    [
        "750",
        "750111",
        "ABCDE",
        "75-011",
        "²",
        "²³⁴⁵¹",
        "٧٥٠١١",  # 75011 in Arabic-Indic digits, which \d matches
        "١٠٠٠",  # 1000 in Arabic-Indic digits: no leading zero to give back
        "１２３４５",  # fullwidth
        "-1",
        "-1000",
        "1" * 30,
    ],
)
def test_malformed_postcode_is_refused(raw):
    with pytest.raises(InvalidValue):
        clean_postcode(raw)


def test_names_keep_markup_as_text_and_lose_control_characters():
    assert clean_name("  <b>Jean</b>\x00  Dupont\n") == "<b>Jean</b> Dupont"


def test_fold_removes_accents_and_case():
    assert fold("Élysée Ségolène") == "elysee segolene"


def _fold_reference(text: str) -> str:
    # fold as first written: the whole text case-folded, decomposed, combining marks dropped.
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def test_fold_matches_its_reference_on_every_character_of_the_bmp():
    for code in range(0x10000):
        char = chr(code)
        assert fold(char) == _fold_reference(char), hex(code)
        # Twice: the second time from the table of folds already computed.
        assert fold(char) == _fold_reference(char), hex(code)


def test_fold_matches_its_reference_on_mixed_texts():
    rng = random.Random(17)
    bmp = [chr(code) for code in range(0x10000)]
    marks = [ch for ch in bmp if unicodedata.combining(ch)]
    texts = ["", "ASCII Only, 42!", "ǅ Σίσυφος ß ﬁ Ⅻ ½ …", "e\u0301\u0327 Å\u030a ḉ", "Ω\U0001d400"]
    for _ in range(5000):
        length = rng.randint(1, 12)
        texts.append(
            "".join(rng.choice(marks if rng.random() < 0.3 else bmp) for _ in range(length))
        )
    for text in texts:
        assert fold(text) == _fold_reference(text), ascii(text)


def test_french_sort_key_puts_accented_initials_among_their_letter():
    names = ["Normandie", "Île-de-France", "Hauts-de-France", "Auvergne-Rhône-Alpes", "Occitanie"]
    assert sorted(names, key=french_sort_key) == [
        "Auvergne-Rhône-Alpes",
        "Hauts-de-France",
        "Île-de-France",
        "Normandie",
        "Occitanie",
    ]
