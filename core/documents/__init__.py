"""Documents: scans to PDF/A, OCR, signatures, and the national forms as PDF."""
