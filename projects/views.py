"""Public pages of projects. Every view starts from Project.objects.public()."""

from django.views.generic import DetailView, ListView, TemplateView

from projects.models import Field, Program, Project


class HomeView(TemplateView):
    template_name = "projects/home.html"


class ProjectListView(ListView):
    template_name = "projects/project_list.html"
    paginate_by = 25

    def get_queryset(self):
        return Project.objects.public().select_related("program").prefetch_related("partners", "fields")


class ProjectDetailView(DetailView):
    template_name = "projects/project_detail.html"

    def get_queryset(self):
        return Project.objects.public()


class FieldDetailView(DetailView):
    template_name = "projects/field_detail.html"
    queryset = Field.objects.all()


class ProgramDetailView(DetailView):
    template_name = "projects/program_detail.html"
    queryset = Program.objects.all()


class MatrixView(TemplateView):
    template_name = "projects/matrix.html"


class TimelineView(TemplateView):
    template_name = "projects/timeline.html"
