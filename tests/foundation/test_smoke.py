from genchi.accounts.models import Role


def test_home_page_for_every_role(client_for):
    for role in Role:
        response = client_for(role).get("/")
        assert response.status_code == 200
        assert 'lang="ja"' in response.content.decode()
