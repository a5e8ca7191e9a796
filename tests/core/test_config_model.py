from catalogue.config import load_settings
from catalogue.model import record_id, validate_metadata


def test_env_overrides_defaults_with_their_types(tmp_path) -> None:
    env = {
        "CATALOGUE_DATA_DIR": str(tmp_path),
        "CATALOGUE_OAI_PAGE_SIZE": "7",
        "CATALOGUE_HARVEST_BACKOFF": "0.25",
    }
    settings = load_settings(env=env)
    assert settings.oai.page_size == 7
    assert settings.harvest.backoff == 0.25
    assert settings.database_url == f"sqlite:///{tmp_path / 'catalogue.sqlite3'}"
    assert settings.index_dir == str(tmp_path / "index")


def test_database_url_env_wins_over_the_sqlite_default(tmp_path) -> None:
    url = "postgresql+psycopg://u@h/db"
    settings = load_settings(
        env={"CATALOGUE_DATA_DIR": str(tmp_path), "CATALOGUE_DATABASE_URL": url}
    )
    assert settings.database_url == url


def test_config_file_is_read_on_top_of_defaults(tmp_path) -> None:
    extra = tmp_path / "site.toml"
    extra.write_text('[oai]\nrepository_name = "Mine"\n')
    settings = load_settings(env={"CATALOGUE_CONFIG": str(extra)})
    assert settings.oai.repository_name == "Mine"
    assert settings.oai.page_size == 100


def test_record_ids_are_stable_and_url_safe() -> None:
    rid = record_id("zenodo", "oai:zenodo.org:10357859")
    assert rid == record_id("zenodo", "oai:zenodo.org:10357859")
    assert rid != record_id("other", "oai:zenodo.org:10357859")
    assert rid.isalnum() and rid.islower() and len(rid) == 16


def test_validation_lists_every_failing_field_with_a_pointer() -> None:
    errors = validate_metadata(
        {"titles": [], "types": {"resourceTypeGeneral": "Nope"}, "publicationYear": "x"}
    )
    fields = {e.field for e in errors}
    assert fields == {
        "/metadata/titles",
        "/metadata/types/resourceTypeGeneral",
        "/metadata/publicationYear",
    }
