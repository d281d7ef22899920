from rest_framework.routers import DefaultRouter

from partners.api import views

app_name = "partners-api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("partners", views.PartnerViewSet, basename="partner")

urlpatterns = router.urls
