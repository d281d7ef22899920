from rest_framework import serializers

from core.api.serializers import ModelRulesSerializer, StrictSlugRelatedField
from partners.models import Partner
from projects.api.serializers import CitationSerializer


class PartnerSerializer(ModelRulesSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="partners-api:partner-detail", lookup_field="slug")
    public_url = serializers.CharField(source="get_absolute_url", read_only=True)
    parent = StrictSlugRelatedField(queryset=Partner.objects.all(), required=False, allow_null=True)
    country_name = serializers.CharField(source="country.name", read_only=True)
    citations = CitationSerializer(many=True, read_only=True)

    class Meta:
        model = Partner
        fields = [
            "url", "public_url", "slug", "name", "name_ja", "kind", "country", "country_name", "region",
            "asean_member", "parent", "description", "published", "publication_state", "review_comment",
            "releasability", "releasable_to", "version", "citations",
        ]  # fmt: skip
        read_only_fields = ["version"]
        staff_only_fields = ["review_comment", "releasable_to"]
        signed_in_fields = ["releasability"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        if instance.parent_id is not None and instance.parent_for(getattr(request, "user", None)) is None:
            data["parent"] = None  # a draft parent is hidden like any draft
        return data
