"""Settings, read from SELLERLOOP_* environment variables (pydantic-settings)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MAVEN_DIR = Path(__file__).parent / "data" / "maven-crm"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SELLERLOOP_", extra="ignore")

    # The data folder: the embedded SQLite store and anything else sellerloop keeps on disk.
    home: Path = Path(".sellerloop")
    # Empty means the embedded SQLite file under `home`; set a postgresql+psycopg:// URL to use PostgreSQL.
    database_url: str = ""
    # Seed of the deterministic sample layer: the same seed always gives the same demo book.
    sample_seed: int = 7
    # The team's methodology: a shipped playbook name (meddicc, bant, spin) or the path of a playbook YAML file.
    playbook: str = "meddicc"
    # The governance policy: the path of a policy YAML file; empty means the shipped default (policy/data).
    policy: str = ""
    # The composer's language model, as PROVIDER:MODEL ("openai:gpt-4o-mini", "anthropic:claude-sonnet-4-5",
    # "ollama:llama3.1"); empty means no model: the deterministic composer. API keys come from the provider's
    # usual variables (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...).
    llm_model: str = ""
    # An OpenAI-compatible endpoint for that model (Ollama, vLLM, a proxy), e.g. http://localhost:11434/v1.
    llm_base_url: str = ""
    # Where people reach this server, e.g. https://sellerloop.example.com: links that leave the app (the HubSpot
    # card's, embed links printed by the CLI) must be absolute, and HubSpot signs the URL it called, not ours.
    public_url: str = "http://127.0.0.1:8000"
    # The HubSpot app's client secret: it signs every hubspot.fetch request (X-HubSpot-Signature-v3). Empty: the
    # card endpoint refuses every request, saying so.
    hubspot_client_secret: str = ""
    # Who may frame the /embed/ pages (CSP frame-ancestors); every other page may be framed by nobody.
    embed_frame_ancestors: str = ("'self' https://*.lightning.force.com https://*.my.salesforce.com "
                                  "https://*.hubspot.com https://app.hubspot.com")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.home / 'sellerloop.db').resolve()}"


def normalise_database_url(url: str) -> str:
    """Accept the plain `postgresql://` form people paste and pick the psycopg 3 driver for it."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
