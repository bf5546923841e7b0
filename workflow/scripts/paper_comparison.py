from serrules.base.script_logging import start_job
from serrules.reporting.paper_comparison import write_paper_comparison

start_job(snakemake)
out = snakemake.output
settings = snakemake.params.settings
write_paper_comparison(
    list(snakemake.input.label_loss),
    settings["metrics"],
    settings["formats"],
    vs_paper={
        **{ext: out[f"vs_paper_{ext}"] for ext in ("csv", "md", "tex")},
        "summary": out.vs_paper_summary,
    },
    claims={ext: out[f"claims_{ext}"] for ext in ("csv", "md", "tex")},
    utterances=settings["utterances"],
    demo=bool(settings["demo"]),
)
