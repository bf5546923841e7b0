# The paper's printed values and claims beside the run's (serrules.reporting.paper_comparison),
# and the paper checked against itself (serrules.reporting.paper_audit).


rule paper_comparison:
    """vs_paper (published cell vs reproduced, with CIs; corpus sizes), its per-table summary
    and claims (verdicts) of the run."""
    input:
        label_loss=label_loss_tables,
        utterances=utterance_tables,
        metrics=metrics_tables,
    output:
        vs_paper_csv=report(
            f"{RESULTS}/tables/vs_paper.csv",
            caption="../report/vs_paper.rst",
            category="Paper vs reproduction",
        ),
        vs_paper_md=f"{RESULTS}/tables/vs_paper.md",
        vs_paper_tex=f"{RESULTS}/tables/vs_paper.tex",
        vs_paper_summary=report(
            f"{RESULTS}/tables/vs_paper_summary.csv",
            caption="../report/vs_paper_summary.rst",
            category="Paper vs reproduction",
        ),
        claims_csv=report(
            f"{RESULTS}/tables/claims.csv",
            caption="../report/claims.rst",
            category="Paper vs reproduction",
        ),
        claims_md=f"{RESULTS}/tables/claims.md",
        claims_tex=f"{RESULTS}/tables/claims.tex",
    log:
        f"{RESULTS}/logs/paper_comparison.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("paper_comparison"),
        settings=paper_comparison_params,
    script:
        "../scripts/paper_comparison.py"


use rule paper_comparison as paper_comparison_protocols with:
    input:
        label_loss=label_loss_tables,
        utterances=utterance_tables,
        metrics=protocol_metrics_all,
    output:
        vs_paper_csv=report(
            f"{RESULTS}/tables/protocols_vs_paper.csv",
            caption="../report/vs_paper.rst",
            category="Paper vs reproduction",
        ),
        vs_paper_md=f"{RESULTS}/tables/protocols_vs_paper.md",
        vs_paper_tex=f"{RESULTS}/tables/protocols_vs_paper.tex",
        vs_paper_summary=report(
            f"{RESULTS}/tables/protocols_vs_paper_summary.csv",
            caption="../report/vs_paper_summary.rst",
            category="Paper vs reproduction",
        ),
        claims_csv=report(
            f"{RESULTS}/tables/protocols_claims.csv",
            caption="../report/claims.rst",
            category="Paper vs reproduction",
        ),
        claims_md=f"{RESULTS}/tables/protocols_claims.md",
        claims_tex=f"{RESULTS}/tables/protocols_claims.tex",
    log:
        f"{RESULTS}/logs/paper_comparison_protocols.log",
    params:
        settings=paper_comparison_protocol_params,


rule paper_audit:
    """The paper against itself: its printed numbers checked against each other, and the
    numbers of its text that the project can check (no run needed)."""
    output:
        csv=report(
            f"{RESULTS}/tables/paper_audit.csv",
            caption="../report/paper_audit.rst",
            category="Paper vs reproduction",
        ),
        md=f"{RESULTS}/tables/paper_audit.md",
    log:
        f"{RESULTS}/logs/paper_audit.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("paper_audit", runs=study_model_module),
        settings=paper_audit_settings,
    script:
        "../scripts/paper_audit.py"
