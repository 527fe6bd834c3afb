"""Parts of pages too big for one file: app/views/<page>_<part>.py, imported by the page."""
