import pytest

from core.errors import DuplicateError, PermissionDenied, ValidationError
from core.models import AuditEvent, User
from core.services import users
from tests.integration.test_cli import env, run  # noqa: F401  (env: a fixture)


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


@pytest.mark.parametrize("look_alike", ["Admin", "ADMIN", "ａｄｍｉｎ", "Ａｄｍｉｎ "])
def test_a_login_folding_onto_an_existing_one_is_refused_as_taken(world, look_alike):
    """Issue 11: 'Admin' and full-width 'ａｄｍｉｎ' were accepted beside 'admin', with the admin role."""
    with pytest.raises(DuplicateError, match="'admin' is already taken"):
        world.do("admin", users.create_user, look_alike, roles=["admin"])


@pytest.mark.parametrize("look_alike,named", [("аdmin", "CYRILLIC SMALL LETTER A"),
                                              ("admіn", "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I"),
                                              ("ΑDMIN", "GREEK SMALL LETTER ALPHA"),
                                              ("张伟", "CJK UNIFIED IDEOGRAPH-5F20"),
                                              ("-admin", "start with a letter or digit")])
def test_a_login_with_letters_outside_latin_a_z_is_refused_naming_the_letter(world, look_alike, named):
    with pytest.raises(ValidationError, match=named) as exc:
        world.do("admin", users.create_user, look_alike, roles=["admin"])
    assert exc.value.field == "login"


def test_logins_are_stored_folded_and_signed_in_with_in_any_case(world):
    uid = world.do("admin", users.create_user, "Wang.Fang", name="王芳", roles=["ar"], password="s3cret-pass")
    assert world.get(User, uid).login == "wang.fang"
    for typed in ("wang.fang", "WANG.FANG", "ｗａｎｇ.ｆａｎｇ"):
        assert world.read(users.authenticate, typed, "s3cret-pass").id == uid


def test_a_full_width_email_is_the_plain_one(world):
    with pytest.raises(DuplicateError, match="already the address of user 'ar'"):
        world.do("admin", users.create_user, "ar3", email="ａｒ@example.com", roles=["ar"])


def test_the_cli_refuses_a_look_alike_login(env):  # noqa: F811  (env: test_cli's fixture)
    assert run(["users", "add", "admin", "--role", "admin"], env).returncode == 0
    r = run(["users", "add", "Аdmin", "--role", "admin"], env)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert "login: only Latin letters a-z" in r.stderr and "CYRILLIC SMALL LETTER A" in r.stderr, r.stderr
    assert run(["users", "add", "ADMIN", "--role", "admin"], env).returncode == 1
