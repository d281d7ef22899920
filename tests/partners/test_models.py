import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from partners.models import Partner


def _partner(**kwargs):
    values = {"name": "Philippines", "slug": "philippines", "country": "PH", "region": "southeast_asia"}
    values.update(kwargs)
    return Partner(**values)


@pytest.mark.django_db
class TestPartnerRules:
    def test_a_service_names_its_parent(self):
        country = _partner()
        country.save()
        air_force = _partner(name="Philippine Air Force", slug="philippine-air-force", kind="service", parent=country)
        air_force.full_clean()
        air_force.save()
        assert list(country.children.all()) == [air_force]

    def test_it_rejects_a_partner_as_its_own_parent(self):
        country = _partner()
        country.save()
        country.parent = country
        with pytest.raises(ValidationError) as excinfo:
            country.full_clean()
        assert "parent" in excinfo.value.message_dict
        with pytest.raises(IntegrityError) as db_error, transaction.atomic():
            country.save()
        assert "partners_partner_not_own_parent" in str(db_error.value)

    def test_it_rejects_a_cycle_of_parents(self):
        a = _partner()
        a.save()
        b = _partner(name="B", slug="b", parent=a)
        b.save()
        a.parent = b
        with pytest.raises(ValidationError) as excinfo:
            a.full_clean()
        assert "parent" in excinfo.value.message_dict

    def test_a_regional_organisation_needs_no_country(self):
        asean = _partner(name="ASEAN", slug="asean", kind="organisation", country="")
        asean.full_clean()
        asean.save()

    def test_a_country_partner_needs_a_country(self):
        partner = _partner(country="")
        with pytest.raises(ValidationError) as excinfo:
            partner.full_clean()
        assert "Country is required" in str(excinfo.value)
        with pytest.raises(IntegrityError), transaction.atomic():
            partner.save()

    def test_it_rejects_an_unknown_country_code(self):
        with pytest.raises(ValidationError) as excinfo:
            _partner(country="XX").full_clean()
        assert "country" in excinfo.value.message_dict

    def test_slug_and_name_are_unique(self):
        _partner().save()
        with pytest.raises(ValidationError) as excinfo:
            _partner().full_clean()
        assert {"slug", "name"} <= set(excinfo.value.message_dict)

    def test_drafts_are_hidden_from_the_public(self, viewer):
        shown = _partner()
        shown.save()
        hidden = _partner(name="Hidden", slug="hidden", publication_state="draft")
        hidden.save()
        assert list(Partner.objects.public()) == [shown]
        assert set(Partner.objects.for_user(viewer)) == {shown, hidden}
        assert list(Partner.objects.for_user(None)) == [shown]
