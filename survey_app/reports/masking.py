"""Masking of personal data in comments: re-exported from :mod:`analysis.masking`.

The rules live in the Flask-free analysis package so that the notebooks and the
analysis command line mask exactly as the report pages and exports do.
"""
from analysis.masking import (  # noqa: F401
    EMAIL_MASK,
    NAME_MASK,
    NUMBER_MASK,
    PHONE_MASK,
    POSTAL_MASK,
    mask_personal_data,
)

__all__ = ["EMAIL_MASK", "NAME_MASK", "NUMBER_MASK", "PHONE_MASK", "POSTAL_MASK", "mask_personal_data"]
