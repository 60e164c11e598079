"""A small FastAPI app whose schema is managed by Alembic (run by ecs-migrate before deploys)."""

from collections.abc import Iterator

from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import get_sessionmaker
from app.models import Author, Post

app = FastAPI(title="fastapi-app")


def session() -> Iterator[Session]:
    with get_sessionmaker()() as s:
        yield s


class AuthorIn(BaseModel):
    name: str
    email: str


class PostIn(BaseModel):
    author_id: int
    title: str
    body: str = ""


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/authors", status_code=201)
def create_author(author: AuthorIn, db: Session = Depends(session)) -> dict:
    row = Author(name=author.name, email=author.email)
    db.add(row)
    db.commit()
    return {"id": row.id, "name": row.name, "email": row.email}


@app.post("/posts", status_code=201)
def create_post(post: PostIn, db: Session = Depends(session)) -> dict:
    if db.get(Author, post.author_id) is None:
        raise HTTPException(status_code=404, detail="no such author")
    row = Post(author_id=post.author_id, title=post.title, body=post.body)
    db.add(row)
    db.commit()
    return {"id": row.id, "title": row.title}


@app.get("/posts")
def list_posts(db: Session = Depends(session)) -> list[dict]:
    rows = db.scalars(select(Post).order_by(Post.id)).all()
    return [{"id": p.id, "author_id": p.author_id, "title": p.title} for p in rows]
