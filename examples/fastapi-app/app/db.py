"""The database connection, from DATABASE_URL (the ECS task definition's environment sets it)."""

import os

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        raise RuntimeError("DATABASE_URL is not set; set it to postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB")
    return url


engine = None
SessionLocal = None


def get_sessionmaker() -> sessionmaker:
    global engine, SessionLocal
    if SessionLocal is None:
        engine = create_engine(database_url(), pool_pre_ping=True)
        SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)
    return SessionLocal
