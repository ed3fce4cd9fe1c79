# Slidecast image: one image for every role (web, worker, beat, flower); the command picks the
# role through deploy_scalable.sh, exactly as on a developer machine and on Render.
#   docker build -t slidecast .
#   docker run -p 5000:5000 slidecast                 # web, embedded defaults (SQLite, thread pool)
#   docker run slidecast worker extraction            # a Celery worker for one queue group
#   docker build --build-arg WHISPER_MODEL=small.en -t slidecast .   # transcription by faster-whisper

# ---- build: compile/download every wheel into a virtualenv ---------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, at the locked versions with their hashes (requirements/service.txt), so a
# code change does not reinstall them; Slidecast itself goes in without dependencies.
COPY requirements/service.txt requirements/service.txt
RUN pip install --require-hashes --no-deps -r requirements/service.txt
COPY pyproject.toml ./
COPY slidecast slidecast
RUN pip install --no-deps .
# WHISPER_MODEL (one setting, empty: none): a faster-whisper model name (tiny.en, base.en,
# small.en, medium.en, large-v3, ...) or a Hugging Face repository of a CTranslate2 model. It is
# fetched here, at build time, into /opt/whisper-model; the image then transcribes with it
# (SLIDECAST_WHISPER_MODEL below, engine "auto"), and nothing is fetched at run time.
ARG WHISPER_MODEL=""
COPY requirements/whisper.txt requirements/whisper.txt
RUN mkdir -p /opt/whisper-model \
 && if [ -n "$WHISPER_MODEL" ]; then \
      pip install --require-hashes --no-deps -r requirements/whisper.txt \
      && python -c "import sys, faster_whisper; faster_whisper.download_model(sys.argv[1], output_dir='/opt/whisper-model')" "$WHISPER_MODEL"; \
    fi

# ---- runtime: the virtualenv, the code, no compiler, not root --------------------------------
FROM python:3.11-slim AS runtime
# libgomp1: onnxruntime (OCR); libglib2.0-0: OpenCV (headless: no libGL); curl: the compose
# health checks.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 libglib2.0-0 curl \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 slidecast \
 && useradd --system --uid 10001 --gid slidecast --home-dir /app --shell /usr/sbin/nologin slidecast
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/whisper-model /opt/whisper-model
ARG WHISPER_MODEL=""
ENV PATH=/opt/venv/bin:$PATH \
    SLIDECAST_WHISPER_MODEL=${WHISPER_MODEL:+/opt/whisper-model} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FLASK_APP=app \
    PORT=5000 \
    STORAGE_URL=/srv/slidecast/data
WORKDIR /app
COPY --chown=slidecast:slidecast . .
RUN mkdir -p /srv/slidecast/data /app/instance && chown -R slidecast:slidecast /srv/slidecast /app/instance
# Fail the build, not the first job: the native libraries load on this base image, OpenCV is
# the headless build, and OCR reads the picture shipped in the package.
RUN python -c "import cv2, onnxruntime, av, slidecast" \
 && python -m slidecast.ocr.selfcheck \
 && if [ -n "$WHISPER_MODEL" ]; then python -c "from slidecast.transcribe import get_engine; print(get_engine('whisper').name)"; fi
USER slidecast
EXPOSE 5000
ENTRYPOINT ["./deploy_scalable.sh"]
CMD ["web"]
