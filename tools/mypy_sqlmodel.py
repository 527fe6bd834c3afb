"""mypy plugin: a SQLModel table's field read on the class (``Lead.status``) is a SQL column, not a value.

SQLModel declares ``status: Stage``, which is right for ``lead.status`` but makes every query built from the
class (``Lead.status.in_(...)``, ``order_by(Lead.id.desc())``, ``select(Lead.id, Lead.company)``) look like
an error to mypy. SQLModel's answer is wrapping each one in ``col()``; this types the class-level read as
``col()`` would, ``Mapped[Stage]``, so queries stay as written and are still checked.

Also: sqlmodel's ``select()`` is typed for one to four columns only (its runtime takes any number); a call with
more, none or ``*columns`` is typed as returning a ``Select`` of Any columns, so the rest of the query is still
checked.
"""
from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import ARG_STAR, CallExpr, NameExpr, TypeInfo, Var
from mypy.plugin import AttributeContext, ClassDefContext, FunctionSigContext, Plugin
from mypy.plugins.common import add_attribute_to_class
from mypy.types import (AnyType, FunctionLike, Instance, ProperType, Type, TypeOfAny, TypeType, UnionType,
                        get_proper_type)
from mypy.typevars import fill_typevars_with_any

MAPPED = "sqlalchemy.orm.base.Mapped"
SELECT = "sqlmodel.sql._expression_select_gen.select"
SELECT_CLASS = "sqlmodel.sql._expression_select_cls.Select"
TABLE = "sqlalchemy.sql.schema.Table"
KEY = "ltc.sqlmodel_table"   # kept in the class's metadata, which mypy's cache keeps (unlike its keywords)


def _mark_table(ctx: ClassDefContext) -> None:
    """``class X(SQLModel, table=True)``: remember it while the class's keywords are at hand, and give it the
    ``__table__`` SQLAlchemy sets on it (SQLModel does not declare one)."""
    table = ctx.cls.keywords.get("table")
    if not (isinstance(table, NameExpr) and table.fullname == "builtins.True"):
        return
    ctx.cls.info.metadata[KEY] = {}
    sa_table = ctx.api.lookup_fully_qualified_or_none(TABLE)
    if "__table__" not in ctx.cls.info.names and sa_table and isinstance(sa_table.node, TypeInfo):
        add_attribute_to_class(ctx.api, ctx.cls, "__table__", Instance(sa_table.node, []), is_classvar=True)


def _read_on_table(typ: ProperType) -> bool:
    """Whether the attribute is read on a table class (``Lead`` in ``Lead.id``, though ``id`` may come from a
    mixin), or on a union of them (``model.id`` for ``model: type[Lead] | type[Bid]``)."""
    if isinstance(typ, UnionType):
        return all(_read_on_table(get_proper_type(t)) for t in typ.items)
    if isinstance(typ, FunctionLike) and typ.is_type_obj():
        info = typ.type_object()
    elif isinstance(typ, TypeType) and isinstance(typ.item, Instance):
        info = typ.item.type
    else:
        return False
    return any(KEY in base.metadata for base in info.mro)


class SQLModelColumns(Plugin):
    # Called for every class once its MRO is known (the pydantic plugin takes the base-class hook).
    def get_customize_class_mro_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        return _mark_table

    def get_function_signature_hook(self, fullname: str) -> Callable[[FunctionSigContext], FunctionLike] | None:
        select_class = self.lookup_fully_qualified(SELECT_CLASS) if fullname == SELECT else None
        if select_class is None or not isinstance(select_class.node, TypeInfo):
            return None
        return _any_columns(select_class.node)

    def get_class_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        owner, _, name = fullname.rpartition(".")
        cls = self.lookup_fully_qualified(owner)
        if cls is None or not isinstance(cls.node, TypeInfo) or name.startswith("_"):
            return None
        if not cls.node.has_base("sqlmodel.main.SQLModel"):
            return None
        field = cls.node.names.get(name)
        if field is None or not isinstance(field.node, Var) or field.node.is_classvar:
            return None
        # the checker's own lookup walks package attributes, and sqlalchemy does not import orm: look it up here
        mapped = self.lookup_fully_qualified(MAPPED)
        if mapped is None or not isinstance(mapped.node, TypeInfo):
            return None
        info = mapped.node

        def column(ctx: AttributeContext) -> Type:
            return Instance(info, [ctx.default_attr_type]) if _read_on_table(ctx.type) else ctx.default_attr_type
        return column


def _any_columns(select_class: TypeInfo) -> Callable[[FunctionSigContext], FunctionLike]:
    def signature(ctx: FunctionSigContext) -> FunctionLike:
        call = ctx.context
        if not isinstance(call, CallExpr) or (1 <= len(call.args) <= 4 and ARG_STAR not in call.arg_kinds):
            return ctx.default_signature
        return ctx.default_signature.copy_modified(
            arg_types=[AnyType(TypeOfAny.special_form)], arg_kinds=[ARG_STAR], arg_names=[None],
            ret_type=fill_typevars_with_any(select_class), variables=[])
    return signature


def plugin(version: str) -> type[Plugin]:
    return SQLModelColumns
