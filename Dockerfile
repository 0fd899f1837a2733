# The image GitHub builds (or pulls, see README.md, "Using the prebuilt image") for `uses: org/patch-push@v1`.
#
# Base: python:3.11.15-slim-bookworm, pinned by the digest of its multi-architecture index (amd64 and
# arm64); Dependabot (.github/dependabot.yml) proposes new digests.
FROM python:3.11.15-slim-bookworm@sha256:b18992999dbe963a45a8a4da40ac2b1975be1a776d939d098c647482bcad5cba

# No USER: container actions run as root, because the runner mounts /github/workspace, /github/home and
# the file-command directory owned by its own user and the action must write there. No WORKDIR either:
# the runner sets the working directory to /github/workspace itself (`--workdir`).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Runtime dependencies first, so this layer is rebuilt only when the lock changes. requirements.txt is
# generated from pyproject.toml with hashes (the command is in its header); every file is checked against
# them, and wheels only: nothing is compiled, so the image needs no compiler.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The package itself, without dependencies. Its build backend is pinned by hash here and the build is not
# isolated, so no unpinned setuptools is downloaded; setuptools is removed afterwards.
COPY pyproject.toml README.md /tmp/src/
COPY patchpush /tmp/src/patchpush
RUN printf '%s\n' 'setuptools==84.2.1 --hash=sha256:ca140b45d5325a9478f880e351484f62fef15f336462e449ca0c03c873d589c2' \
        > /tmp/build-requirements.txt \
    && pip install --no-cache-dir --require-hashes --only-binary=:all: -r /tmp/build-requirements.txt \
    && pip install --no-cache-dir --no-deps --no-build-isolation /tmp/src \
    && pip uninstall --yes setuptools \
    && rm -rf /tmp/src /tmp/build-requirements.txt

COPY entrypoint.py /app/entrypoint.py
ENTRYPOINT ["python", "/app/entrypoint.py"]
