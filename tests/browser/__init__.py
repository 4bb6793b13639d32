"""The public pages in a real headless Chromium (marker ``browser``)."""
