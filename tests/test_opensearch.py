from __future__ import annotations

from django.test import override_settings


@override_settings(SITE_URL="https://rb.example.com")
def test_the_opensearch_description_points_the_rb_keyword_at_the_revision_search(client, db):
    response = client.get("/opensearch.xml")
    assert response["Content-Type"] == "application/opensearchdescription+xml"
    body = response.content.decode()
    assert "<ShortName>rb</ShortName>" in body
    assert 'template="https://rb.example.com/r/?q={searchTerms}"' in body


def test_every_page_links_the_opensearch_description(client, alice):
    client.force_login(alice.user)
    assert b'rel="search" type="application/opensearchdescription+xml"' in client.get("/").content
