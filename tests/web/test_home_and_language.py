from genchi.accounts.models import Role


def test_home_page_for_every_role(client_for):
    for role in Role:
        response = client_for(role).get("/")
        assert response.status_code == 200
        assert 'lang="ja"' in response.content.decode()


def test_japanese_first_even_for_an_english_browser(client):
    response = client.get("/signin/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "サインイン" in response.content.decode()
    assert response["Content-Language"] == "ja"


def test_english_is_available_by_choice(client):
    response = client.post("/language/", {"language": "en", "next": "/signin/"})
    assert response.status_code == 302 and response["Location"] == "/signin/"
    page = client.get("/signin/")
    assert page["Content-Language"] == "en"
    assert "Sign in" in page.content.decode()
    client.post("/language/", {"language": "ja", "next": "/signin/"})
    assert "サインイン" in client.get("/signin/").content.decode()


def test_language_switch_names_each_language_in_itself(client):
    body = client.get("/signin/").content.decode()
    assert 'lang="en"' in body and ">English</button>" in body
    assert ">日本語</button>" in body
