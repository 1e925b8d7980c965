# One image for the web server and the Huey worker (compose picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --create-home --uid 10001 app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings to import; the key is a build-time placeholder, never served.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var /app/media && chown -R app:app /app/var /app/media
USER app

EXPOSE 8000
CMD ["gunicorn", "-c", "backend/gunicorn.conf.py", "backend.wsgi:application"]
