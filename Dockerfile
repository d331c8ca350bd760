# The bot's image for compose.yaml: the project as it is checked out, with the PostgreSQL driver.
FROM python:3.11-slim
WORKDIR /app
COPY . /app
# Installed in place (editable) so that the seed article in data/ is found beside the code.
RUN pip install --no-cache-dir -e '.[postgres]' \
    && useradd --system --home /app fibrocircle \
    && chown -R fibrocircle /app/data
USER fibrocircle
CMD ["fibrocircle", "run"]
