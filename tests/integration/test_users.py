import pytest

from core.errors import DuplicateError, PermissionDenied, ValidationError
from core.models import AuditEvent, User
from core.services import users


def test_create_user_hashes_password_and_audits_without_secret(world):
    uid = world.do("admin", users.create_user, "alice", name="Alice", roles=["finance", "ar"],
                   password="correct horse")
    u = world.get(User, uid)
    assert u.password_hash.startswith("$argon2id$") and "correct horse" not in u.password_hash
    assert u.role_set == {"finance", "ar"}
    events = world.read(lambda ctx: ctx.session.exec(
        __import__("sqlmodel").select(AuditEvent).where(AuditEvent.entity_id == uid,
                                                        AuditEvent.entity == "user")).all())
    assert events and all("password" not in e.after_json for e in events)


def test_only_admin_manages_users(world):
    with pytest.raises(PermissionDenied, match="user.manage"):
        world.do("leader", users.create_user, "bob", roles=["ar"])


@pytest.mark.parametrize("login,roles,password,field", [
    ("", ["ar"], None, "login"), ("has space", ["ar"], None, "login"), ("ok", ["wizard"], None, "roles"),
    ("ok", [], None, "roles"), ("ok", ["ar"], "short", "password")])
def test_bad_user_input_names_the_field(world, login, roles, password, field):
    with pytest.raises(ValidationError) as exc:
        world.do("admin", users.create_user, login, roles=roles, password=password)
    assert exc.value.field == field


def test_duplicate_login_refused(world):
    with pytest.raises(DuplicateError):
        world.do("admin", users.create_user, "ar", roles=["ar"])


def test_sign_in_same_message_and_lockout(world):
    world.do("admin", users.create_user, "carol", roles=["ar"], password="s3cret-pass")
    assert world.read(users.authenticate, "carol", "s3cret-pass").login == "carol"
    with pytest.raises(PermissionDenied) as unknown:
        world.read(users.authenticate, "nobody", "whatever")
    with pytest.raises(PermissionDenied) as wrong:
        world.read(users.authenticate, "carol", "bad")
    assert str(unknown.value) == str(wrong.value)
    for _ in range(users.MAX_FAILED - 1):
        with pytest.raises(PermissionDenied):
            world.read(users.authenticate, "carol", "bad")
    # locked now: even the right password is refused
    with pytest.raises(PermissionDenied):
        world.read(users.authenticate, "carol", "s3cret-pass")


def test_two_people_cannot_share_an_email_in_any_case(world):
    """OpenID sign-in finds a person by e-mail, so an address belongs to one user."""
    zed = world.do("admin", users.create_user, "zed", email="zed@example.com", roles=["ar"])
    with pytest.raises(DuplicateError, match="email: 'AR@Example.com' is already the address of user 'ar'"):
        world.do("admin", users.create_user, "ann", email="AR@Example.com", roles=["ar"])
    with pytest.raises(DuplicateError, match="user 'ar'"):
        world.do("admin", users.update_user, zed, email="ar@EXAMPLE.com")
    world.do("admin", users.update_user, zed, email="ZED@example.com")     # one's own address in another case
    assert world.get(User, zed).email == "ZED@example.com"
