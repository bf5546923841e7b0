rule per_class_scores:
    """Per-class precision / recall / F1 on each test set and the multi-label confusion
    (co-occurrence of true and predicted classes) on AR_test, as tables and heat maps.
    """
    input:
        unpack(fold_predictions),
        unpack(evaluation_label_tables),
    output:
        per_class=f"{RESULTS}/{{corpus}}/per_class.parquet",
        per_class_csv=report(
            f"{RESULTS}/{{corpus}}/per_class.csv",
            caption="../report/per_class_table.rst",
            category="{corpus}",
            subcategory="Per-class scores",
        ),
        confusion=f"{RESULTS}/{{corpus}}/confusion_AR.parquet",
        confusion_csv=report(
            f"{RESULTS}/{{corpus}}/confusion_AR.csv",
            caption="../report/confusion_table.rst",
            category="{corpus}",
            subcategory="Multi-label confusion (AR_test)",
        ),
        per_class_png=report(
            f"{RESULTS}/{{corpus}}/figures/per_class_f1.png",
            caption="../report/per_class_figure.rst",
            category="{corpus}",
            subcategory="Per-class scores",
        ),
        confusion_png=report(
            f"{RESULTS}/{{corpus}}/figures/confusion_AR.png",
            caption="../report/confusion_figure.rst",
            category="{corpus}",
            subcategory="Multi-label confusion (AR_test)",
        ),
    log:
        f"{RESULTS}/logs/per_class_scores/{{corpus}}.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("per_class_scores"),
        fmt=format_of,
        rules=RULES,
    script:
        "../scripts/per_class_scores.py"


rule calibration:
    """Expected calibration error of each train rule against the vote distributions, and the
    reliability diagram on AR_test."""
    input:
        unpack(fold_predictions),
        unpack(evaluation_label_tables),
    output:
        calibration=f"{RESULTS}/{{corpus}}/calibration.parquet",
        calibration_csv=report(
            f"{RESULTS}/{{corpus}}/calibration.csv",
            caption="../report/calibration_table.rst",
            category="{corpus}",
            subcategory="Calibration",
        ),
        reliability=f"{RESULTS}/{{corpus}}/reliability.parquet",
        reliability_csv=f"{RESULTS}/{{corpus}}/reliability.csv",
        png=report(
            f"{RESULTS}/{{corpus}}/figures/reliability.png",
            caption="../report/reliability.rst",
            category="{corpus}",
            subcategory="Calibration",
        ),
    log:
        f"{RESULTS}/logs/calibration/{{corpus}}.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("calibration"),
        fmt=format_of,
        rules=RULES,
    script:
        "../scripts/calibration.py"


rule training_curves:
    """Train and dev loss per epoch of every fold model of a corpus (one figure)."""
    input:
        unpack(fold_train_logs),
    output:
        report(
            f"{RESULTS}/{{corpus}}/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="{corpus}",
            subcategory="Training curves",
        ),
    log:
        f"{RESULTS}/logs/training_curves/{{corpus}}.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("training_curves"),
        rules=RULES,
    script:
        "../scripts/training_curves.py"
