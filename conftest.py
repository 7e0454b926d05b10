import pytest

from ketaclinic.core.testing import World, make_world


@pytest.fixture
def world(db: None) -> World:
    return make_world()
