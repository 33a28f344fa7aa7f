"""Demo data (placeholder)."""
import click


@click.command("demo-data")
def demo_data_command():
    """Load demo data."""
