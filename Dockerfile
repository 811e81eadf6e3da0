FROM python:3.11-slim
WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-cache-dir -e .
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
# Migrations on start, then the service.
CMD ["sh", "-c", "registry migrate && exec registry serve --host 0.0.0.0 --port 8000"]
