"""Build the optional C funnel kernel; everything else is declared in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "funnelscope.analyses.funnel._kernel._funnelc",
            sources=["src/funnelscope/analyses/funnel/_kernel/funnelc.c"],
            extra_compile_args=["-O3", "-std=c11", "-pthread"],
            extra_link_args=["-pthread"],
            optional=True,
        )
    ]
)
