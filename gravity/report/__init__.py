"""Reports for policymakers: ranked opportunities and a bilateral profile, as HTML and tables.

:func:`~gravity.report.data.load_inputs` reads what earlier stages wrote,
:func:`~gravity.report.build.build_report` turns it into tables, charts and figures (data), and
the renderers lay them out: :func:`~gravity.report.html.render_html` (one offline page),
:func:`~gravity.report.xlsx.render_xlsx` (bytes) and :func:`~gravity.report.xlsx.render_csv`;
renderers return text or bytes and ``gravity.cli.stage_report.stage_report`` writes the files.
"""

from gravity.report.build import Report, build_report
from gravity.report.data import ReportInputs, ReportNames, load_inputs
from gravity.report.options import ReportOptions
from gravity.report.profile import BilateralProfile, Figure, bilateral_profile

__all__ = [
    "BilateralProfile",
    "Figure",
    "Report",
    "ReportInputs",
    "ReportNames",
    "ReportOptions",
    "bilateral_profile",
    "build_report",
    "load_inputs",
]
