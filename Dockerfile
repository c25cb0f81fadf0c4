# XTrust dashboard image: docker build -t xtrust . && docker run -p 8501:8501 xtrust
# Models and datasets are mounted or trained at first use (XR-Linear trains in seconds):
#   docker run -p 8501:8501 -v $PWD/data:/app/data -v $PWD/models:/app/models xtrust
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1

# WordNet for the synonym attack comes from Debian (NLTK's downloader needs GitHub);
# libgomp1: OpenMP runtime used by PECOS.
RUN apt-get update \
 && apt-get install -y --no-install-recommends wordnet-base wordnet-sense-index libgomp1 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first (cached layer); torch CPU wheel from the PyTorch CPU index.
COPY requirements.txt .
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -r requirements.txt

# Code and assets (assets/ holds the offline JS BertViz needs, the CSS and the WordNet lexnames).
COPY engine/ engine/
COPY dashboard/ dashboard/
COPY assets/ assets/
COPY scripts/ scripts/
COPY .streamlit/ .streamlit/

RUN if [ -f scripts/install_wordnet.sh ]; then bash scripts/install_wordnet.sh; fi

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "dashboard/app.py", "--server.port", "8501", "--server.address", "0.0.0.0"]
