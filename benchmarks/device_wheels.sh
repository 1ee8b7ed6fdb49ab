#!/usr/bin/env bash
# Wheels the device machine lacks for the framework-free core: pydantic (the parameter
# blocks of biv_pipeline.noise and biv_pipeline.parameters.training) and what it needs that the
# device's image does not hold. Its Python is 3.12 on x86-64 Linux. Writes benchmarks/wheels/
# (git-ignored, about 3 MB); carry it with the faces (see benchmarks/README.md).
set -euo pipefail
cd "$(dirname "$0")"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d wheels \
    pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
ls wheels
