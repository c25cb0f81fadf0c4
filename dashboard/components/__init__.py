"""Rendering pieces the pages share, one concern per module: engine calls with their errors shown
(engine_calls), tables and text (formatting), plotly figures (figures), registry-built widgets and
result renderers (widgets), the one-file HTML report (report). Pages use them as ``C.<name>``."""
from dashboard.components.engine_calls import (FAILED, K_THROUGH_APP, call, failed, require_app,  # noqa: F401
                                               require_selection, version)
from dashboard.components.figures import (GREEN, GREY, RED, attention_figure, changed_features_figure,  # noqa: F401
                                          certified_vs_attacked_figure, deletion_curve, frequency_figure,
                                          robustness_curve_figure, robustness_figure, score_bars, weight_bars)
from dashboard.components.formatting import (UNITS, _fmt, certified_column, certified_curve_frame,  # noqa: F401
                                             explanation_display, score_name,
                                             certified_radius_text, changed_frame, coverage_html,
                                             explanation_frame, faithfulness_frame, faithfulness_table_frame,
                                             feature_weight_frame, frequency_frame, highlighted_html, html_block,
                                             model_label, multiguard_text, prediction_frame, robustness_curve_frame,
                                             robustness_frame, shown, to_json_text, truth_mark, unit_of,
                                             percent_text, whole_score_frame, word_diff_html,
                                             encoder_share_frame, encoder_share_note)
from dashboard.components.report import REPORT_CSS, _table, report_button, report_html  # noqa: F401
from dashboard.components.widgets import (attack_form, attacks_for, download_row, explanation_unit,  # noqa: F401
                                          render_attack, render_explanation)
from dashboard.jobs import panel as job_panel  # noqa: F401
from engine.pipeline import plot_text, plot_texts  # noqa: F401
