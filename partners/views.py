"""Public pages of partners. Every view starts from Partner.objects.public()."""

from django.views.generic import DetailView, ListView

from partners.models import Partner


class PartnerListView(ListView):
    template_name = "partners/partner_list.html"

    def get_queryset(self):
        return Partner.objects.public()


class PartnerDetailView(DetailView):
    template_name = "partners/partner_detail.html"

    def get_queryset(self):
        return Partner.objects.public()
