use crate::support::*;
use snapqris_protocol::ServiceCode;

async fn health_metrics_and_docs_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    app.generate_static("ref-1").await;
    assert_code(&app.list_today().await, "2009000");
    let client = app.session.client();

    let health = client.get("/health").await.unwrap();
    assert_eq!(health.status, 200);
    assert_eq!(health.json().unwrap()["status"], "ok");

    let metrics = client.get("/metrics").await.unwrap().text();
    assert!(
        metrics.contains(r#"snapqris_requests_total{service="90",response_code="2009000"}"#),
        "{metrics}"
    );
    assert!(metrics.contains("snapqris_request_duration_seconds_bucket"));
    assert!(metrics.contains(r#"snapqris_external_id_claims_total{outcome="claimed"}"#));
    assert!(metrics.contains("snapqris_store_pool_connections"));

    let openapi = client.get("/openapi.json").await.unwrap().json().unwrap();
    assert_eq!(openapi["openapi"], "3.1.0");
    for service in ServiceCode::ALL {
        let path = service.path();
        assert!(openapi["paths"][path]["post"].is_object(), "{path}");
    }
    let docs = client.get("/docs/").await.unwrap();
    assert_eq!(docs.status, 200);
    assert!(docs.text().to_lowercase().contains("swagger"));
}

async fn old_claims_are_purged_in_batches_and_recent_ones_kept(backend: Backend) {
    use snapqris_protocol::{ClientId, ExternalId, JakartaDate};
    use snapqris_store::{Claim, ExternalIdKey};
    let app = spawn_app(backend).await;
    let key = |day: JakartaDate, n: usize| ExternalIdKey {
        client_id: ClientId::parse(PARTNER).unwrap(),
        day,
        external_id: ExternalId::parse(&format!("old-{n}")).unwrap(),
    };
    // Days after the server's today, so the server's own hourly retention (which purges days
    // before today - 2, and runs at start) cannot race this test for the same rows.
    let today = JakartaDate::of_instant(START);
    let old = JakartaDate::from_date(today.date() + time::Duration::days(5));
    let kept = JakartaDate::from_date(today.date() + time::Duration::days(6));
    for n in 0..1500 {
        app.store
            .claim_external_id(&key(old, n), START)
            .await
            .unwrap();
    }
    app.store
        .claim_external_id(&key(kept, 0), START)
        .await
        .unwrap();
    assert_eq!(app.store.purge_external_ids(kept).await.unwrap(), 1500);
    assert_eq!(
        app.store
            .claim_external_id(&key(kept, 0), START)
            .await
            .unwrap(),
        Claim::AlreadyUsed
    );
    assert_eq!(
        app.store
            .claim_external_id(&key(old, 0), START)
            .await
            .unwrap(),
        Claim::Claimed
    );
}

crate::on_each_backend!(
    health_metrics_and_docs_answer,
    old_claims_are_purged_in_batches_and_recent_ones_kept,
);
