"""Catalog router: public reads, staff-only writes."""

# No `from __future__ import annotations`: ninja reads these signatures at import time.

from ninja import Query, Router, Status
from ninja.pagination import paginate

from accounts.auth import AuthedRequest, jwt_auth, optional_jwt_auth, require_staff
from config.pagination import Pagination
from config.schemas import OPTIONAL_AUTH, errors

from . import selectors, services
from .schemas import (
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    ProductFilters,
    ProductIn,
    ProductOut,
    ProductPatch,
)

router = Router(tags=["catalog"])


@router.get("/categories/", response={200: list[CategoryOut], **errors(422)}, auth=None)
@paginate(Pagination)
def category_list(request: AuthedRequest):
    return selectors.category_list()


@router.get(
    "/categories/{category_id}/", response={200: CategoryOut, **errors(404, 422)}, auth=None
)
def category_detail(request: AuthedRequest, category_id: int):
    return selectors.category_get(pk=category_id)


@router.post(
    "/categories/",
    response={201: CategoryOut, **errors(400, 401, 403, 409, 422)},
    auth=jwt_auth,
)
def category_create(request: AuthedRequest, payload: CategoryIn):
    require_staff(request.auth)
    return Status(201, services.category_create(name=payload.name, slug=payload.slug))


@router.put(
    "/categories/{category_id}/",
    response={200: CategoryOut, **errors(400, 401, 403, 404, 409, 422)},
    auth=jwt_auth,
)
def category_replace(request: AuthedRequest, category_id: int, payload: CategoryIn):
    require_staff(request.auth)
    category = selectors.category_get(pk=category_id)
    return services.category_update(category=category, data=payload.dict())


@router.patch(
    "/categories/{category_id}/",
    response={200: CategoryOut, **errors(400, 401, 403, 404, 409, 422)},
    auth=jwt_auth,
)
def category_patch(request: AuthedRequest, category_id: int, payload: CategoryPatch):
    require_staff(request.auth)
    category = selectors.category_get(pk=category_id)
    return services.category_update(category=category, data=payload.dict(exclude_unset=True))


@router.delete(
    "/categories/{category_id}/",
    response={204: None, **errors(401, 403, 404, 409, 422)},
    auth=jwt_auth,
)
def category_delete(request: AuthedRequest, category_id: int):
    require_staff(request.auth)
    services.category_delete(category=selectors.category_get(pk=category_id))
    return Status(204, None)


@router.get(
    "/products/",
    response={200: list[ProductOut], **errors(401, 422)},
    auth=optional_jwt_auth,
    openapi_extra=OPTIONAL_AUTH,
)
@paginate(Pagination)
def product_list(request: AuthedRequest, filters: Query[ProductFilters]):
    return selectors.product_list(
        user=request.auth,
        category=filters.category,
        min_price=filters.min_price,
        max_price=filters.max_price,
        in_stock=filters.in_stock,
        search=filters.search,
        ordering=filters.ordering.value,
    )


@router.get(
    "/products/{product_id}/",
    response={200: ProductOut, **errors(401, 404, 422)},
    auth=optional_jwt_auth,
    openapi_extra=OPTIONAL_AUTH,
)
def product_detail(request: AuthedRequest, product_id: int):
    return selectors.product_get(user=request.auth, pk=product_id)


@router.post(
    "/products/",
    response={201: ProductOut, **errors(400, 401, 403, 409, 422)},
    auth=jwt_auth,
)
def product_create(request: AuthedRequest, payload: ProductIn):
    require_staff(request.auth)
    return Status(201, services.product_create(**payload.dict()))


@router.put(
    "/products/{product_id}/",
    response={200: ProductOut, **errors(400, 401, 403, 404, 409, 422)},
    auth=jwt_auth,
)
def product_replace(request: AuthedRequest, product_id: int, payload: ProductIn):
    require_staff(request.auth)
    product = selectors.product_get(user=request.auth, pk=product_id)
    return services.product_update(product=product, data=payload.dict())


@router.patch(
    "/products/{product_id}/",
    response={200: ProductOut, **errors(400, 401, 403, 404, 409, 422)},
    auth=jwt_auth,
)
def product_patch(request: AuthedRequest, product_id: int, payload: ProductPatch):
    require_staff(request.auth)
    product = selectors.product_get(user=request.auth, pk=product_id)
    return services.product_update(product=product, data=payload.dict(exclude_unset=True))


@router.delete(
    "/products/{product_id}/",
    response={204: None, **errors(401, 403, 404, 409, 422)},
    auth=jwt_auth,
)
def product_delete(request: AuthedRequest, product_id: int):
    require_staff(request.auth)
    services.product_delete(product=selectors.product_get(user=request.auth, pk=product_id))
    return Status(204, None)
