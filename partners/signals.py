"""What partners tell the apps that build on them, without knowing those apps.

`partners_renamed` is sent after a spreadsheet import changed partners in bulk (the
import writes without model signals, so post_save does not fire): the projects app
listens and rebuilds the search documents that hold the partners' names."""

from django.dispatch import Signal

# Sent with partner_ids: the primary keys of the partners the import changed.
partners_renamed = Signal()
