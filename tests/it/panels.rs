//! The panels driven like a user would, headless (egui_kittest): they change the view state
//! and ask the app for work through requests.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

use clip_plot::dataset::ImageSource;
use clip_plot::ui::{self, HotspotRow, LayoutEntry, Lightbox, Request, ViewState};

fn state() -> ViewState {
    let mut s = ViewState {
        dataset_name: "tuxpaint".into(),
        current: "umap".into(),
        ..ViewState::default()
    };
    for (name, ready) in [
        ("umap", true),
        ("pca", true),
        ("grid", true),
        ("jittered", false),
    ] {
        s.layouts.push(LayoutEntry {
            name: name.into(),
            ready,
        });
    }
    for (label, size) in [
        ("planet, apple, solar", 29),
        ("flower, flowers, hibiscus", 22),
    ] {
        s.hotspots.push(HotspotRow {
            label: label.into(),
            size,
            texture: None,
        });
    }
    s
}

fn harness(state: ViewState) -> Harness<'static, ViewState> {
    harness_sized(state, egui::vec2(1000.0, 700.0))
}

fn harness_sized(state: ViewState, size: egui::Vec2) -> Harness<'static, ViewState> {
    Harness::builder().with_size(size).build_ui_state(
        |ui, state: &mut ViewState| {
            ui::overlay_ui(ui, state);
        },
        state,
    )
}

#[test]
fn clicking_a_layout_asks_to_switch_to_it() {
    let mut h = harness(state());
    h.get_by_label("Grid").click();
    h.run();
    assert_eq!(
        h.state().requests,
        vec![Request::SwitchLayout("grid".into())]
    );
    // The current one and one still computing do nothing.
    h.state_mut().requests.clear();
    h.get_by_label("UMAP").click();
    h.get_by_label("Jittered (computing…)").click();
    h.run();
    assert!(h.state().requests.is_empty(), "{:?}", h.state().requests);
}

#[test]
fn umap_parameters_recompute_in_the_background() {
    let mut s = state();
    s.n_neighbors = 30;
    s.min_dist = 0.25;
    let mut h = harness(s);
    h.get_by_label("Recompute UMAP").click();
    h.run();
    assert_eq!(
        h.state().requests,
        vec![Request::RecomputeUmap {
            n_neighbors: 30,
            min_dist: 0.25
        }]
    );
}

#[test]
fn a_hotspot_flies_there_when_clicked_and_highlights_when_hovered() {
    let mut h = harness(state());
    h.get_by_label("flower, flowers, hibiscus").hover();
    h.run();
    assert_eq!(h.state().hovered_hotspot, Some(1));
    h.get_by_label("flower, flowers, hibiscus").click();
    h.run();
    assert!(h.state().requests.contains(&Request::FlyToHotspot(1)));
    // Double-click renames: type a name, leave the field.
    h.state_mut().renaming = Some((0, "planets".into()));
    h.run();
    h.event(egui::Event::Key {
        key: egui::Key::Enter,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers: Default::default(),
    });
    h.run();
    assert!(
        h.state()
            .requests
            .contains(&Request::RenameHotspot(0, "planets".into())),
        "{:?}",
        h.state().requests
    );
}

#[test]
fn the_lightbox_shows_metadata_and_steps_through_neighbours() {
    let mut s = state();
    s.lightbox = Some(Lightbox {
        image: 7,
        title: "images/apple.png".into(),
        source: ImageSource::File("/data/images/apple.png".into()),
        metadata: vec![
            ("category".into(), "food".into()),
            ("permalink".into(), "https://example.org/apple".into()),
        ],
        permalink: Some("https://example.org/apple".into()),
        texture: None,
        full_resolution: false,
        tags: vec!["keep".into()],
        neighbours: vec![(3, None), (9, None)],
        cursor: None,
    });
    let mut h = harness(s);
    h.run_steps(2); // the spinner keeps repainting until the image decodes
    assert!(h.query_by_label("images/apple.png").is_some());
    assert!(h.query_by_label("food").is_some());
    // It opens beside the panels, not over the hotspots.
    let title = h.get_by_label("images/apple.png").rect();
    let hotspot = h.get_by_label("planet, apple, solar").rect();
    let panel_edge = h.get_by_label("Recompute UMAP").rect().max.x;
    assert!(
        title.min.x > panel_edge,
        "{title:?} over the panel ({panel_edge})"
    );
    assert!(!title.intersects(hotspot));
    h.get_by_label("Permalink").click();
    h.run_steps(2); // the spinner keeps repainting until the image decodes
    h.get_by_label("Open in system viewer").click();
    h.run_steps(2); // the spinner keeps repainting until the image decodes
    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2); // the spinner keeps repainting until the image decodes
    h.get_by_label("#9").click();
    h.run_steps(2); // the spinner keeps repainting until the image decodes
    h.key_press(egui::Key::Escape);
    h.run_steps(2); // the spinner keeps repainting until the image decodes
    assert_eq!(
        h.state().requests,
        vec![
            Request::OpenUrl("https://example.org/apple".into()),
            Request::OpenInSystemViewer(ImageSource::File("/data/images/apple.png".into())),
            Request::OpenLightbox(3),
            Request::OpenLightbox(9),
            Request::CloseLightbox,
        ]
    );
}

#[test]
fn the_status_line_shows_progress_and_figures() {
    let mut s = state();
    s.status.preparing = Some(ui::Preparing {
        stage: "thumbnails".into(),
        done: 40,
        total: 207,
    });
    s.status.drawn = 120;
    s.status.total = 207;
    s.status.gpu_bytes = 34 * 1024 * 1024;
    let mut h = harness(s);
    h.run_steps(3); // the spinner keeps repainting
    assert!(h.query_by_label("120 of 207 images drawn").is_some());
    assert!(h.query_by_label_contains("GPU 34 MiB").is_some());
    h.get_by_label("Cancel").click();
    h.run_steps(3);
    assert_eq!(h.state().requests, vec![Request::CancelPrepare]);
    // Recomputing is refused while preparing.
    h.state_mut().requests.clear();
    h.get_by_label("Recompute UMAP").click();
    h.run_steps(3);
    assert!(h.state().requests.is_empty());
}

#[test]
fn the_search_box_asks_to_filter_and_enter_fits_the_matches() {
    let mut s = state();
    s.search_status = Some(Ok(12));
    let mut h = harness(s);
    h.get_by_label("Search").click();
    h.run();
    h.get_by_label("Search").type_text("owl");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    let r = &h.state().requests;
    assert!(r.contains(&Request::SetSearch("owl".into())), "{r:?}");
    assert!(r.contains(&Request::FitToMatches), "{r:?}");
    assert!(h.query_by_label("12 of 0 match").is_some());
    // A bad expression shows why.
    h.state_mut().search_status = Some(Err("in `colour:red`: there is no column".into()));
    h.run();
    assert!(
        h.query_by_label("in `colour:red`: there is no column")
            .is_some()
    );
}

#[test]
fn a_facet_click_toggles_its_value_and_a_bar_sets_a_range() {
    use clip_plot::explore::facets::FacetKind;
    use clip_plot::explore::state::FacetView;
    let mut s = state();
    s.facets = vec![
        FacetView {
            column: "category".into(),
            kind: FacetKind::Categorical,
            values: vec![("food".into(), 13, false), ("space".into(), 9, false)],
            bins: Vec::new(),
            range: None,
            brush: None,
        },
        FacetView {
            column: "year".into(),
            kind: FacetKind::Year,
            values: Vec::new(),
            bins: vec![1, 2, 3, 4],
            range: Some((1900.0, 2000.0)),
            brush: None,
        },
    ];
    let mut h = harness(s);
    h.get_by_label("Facets").click();
    h.run();
    assert!(h.state().facets_open);
    h.get_by_label("food  13").click();
    h.run();
    assert!(
        h.state()
            .requests
            .contains(&Request::ToggleFacetValue("category".into(), "food".into())),
        "{:?}",
        h.state().requests
    );
    assert!(h.query_by_label("1900 – 2000").is_some());

    // Dragging across the histogram from the second bar to the third sets that range.
    h.state_mut().requests.clear();
    let bars = h.get_by_label("histogram year").rect();
    let at = |f: f32| egui::pos2(bars.left() + bars.width() * f, bars.center().y);
    let button = |pos, pressed| egui::Event::PointerButton {
        pos,
        button: egui::PointerButton::Primary,
        pressed,
        modifiers: Default::default(),
    };
    h.event(egui::Event::PointerMoved(at(0.3)));
    h.run();
    h.event(button(at(0.3), true));
    h.run();
    for f in [0.4, 0.5, 0.6, 0.7] {
        h.event(egui::Event::PointerMoved(at(f)));
        h.run();
    }
    h.event(button(at(0.7), false));
    h.run();
    assert_eq!(
        h.state().requests,
        vec![Request::SetFacetRange("year".into(), 1925.0, 1975.0)]
    );
}

#[test]
fn tags_are_added_to_the_selection_and_to_and_from_the_lightbox_image() {
    let mut s = state();
    s.selected = 3;
    let mut h = harness_sized(s, egui::vec2(1000.0, 1200.0));
    h.get_by_label("name").click();
    h.run();
    h.get_by_label("name").type_text("keep");
    h.run();
    h.get_by_label("Tag").click();
    h.run();
    assert_eq!(
        h.state().requests,
        vec![Request::TagSelection("keep".into(), true)]
    );
    h.state_mut().requests.clear();
    h.state_mut().lightbox = Some(Lightbox {
        image: 4,
        title: "apple.png".into(),
        source: ImageSource::File("/data/apple.png".into()),
        metadata: Vec::new(),
        permalink: None,
        texture: None,
        full_resolution: true,
        tags: vec!["mislabelled".into()],
        neighbours: Vec::new(),
        cursor: None,
    });
    h.run_steps(2);
    h.get_by_label("mislabelled x").click();
    h.run_steps(2);
    h.get_by_label("Add tag").click();
    h.run_steps(2);
    assert_eq!(
        h.state().requests,
        vec![
            Request::TagImage(4, "mislabelled".into(), false),
            Request::TagImage(4, "keep".into(), true)
        ]
    );
}

#[test]
fn hotspots_are_merged_deleted_and_moved_in_edit_mode() {
    use clip_plot::explore::hotspots::Edit;
    let mut s = state();
    s.hotspots.push(HotspotRow {
        label: "cats".into(),
        size: 9,
        texture: None,
    });
    let mut h = harness(s);
    h.get_by_label("Edit").click();
    h.run();
    assert!(h.state().hotspot_edit);
    // Tick the third and the first: merged into the first ticked in list order.
    h.get_by_label("tick cats").click();
    h.run();
    h.get_by_label("tick planet, apple, solar").click();
    h.run();
    h.get_by_label("Merge").click();
    h.run();
    assert_eq!(
        h.state().requests,
        vec![Request::EditHotspots(Edit::Merge(vec![0, 2]))]
    );
    assert!(h.state().hotspot_ticks.is_empty());
    h.state_mut().requests.clear();
    h.get_by_label("tick cats").click();
    h.run();
    h.get_by_label("Delete").click();
    h.run();
    assert_eq!(
        h.state().requests,
        vec![Request::EditHotspots(Edit::Delete(vec![2]))]
    );
    h.state_mut().requests.clear();
    // ↑ of the second row moves it up (the first row's ↑ is disabled).
    let ups = h.query_all_by_label("Up").collect::<Vec<_>>();
    assert_eq!(ups.len(), 3);
    ups[1].click();
    h.run();
    assert_eq!(
        h.state().requests,
        vec![Request::EditHotspots(Edit::Move(1, -1))]
    );
}

#[test]
fn the_selection_pages_unticks_and_acts() {
    use clip_plot::explore::takeaway::Method;
    let mut s = state();
    s.selected = 30;
    s.selection_rows = (0..ui::SELECTION_PAGE)
        .map(|i| ui::MatchRow {
            image: 100 + i,
            name: format!("img{i}.png"),
            texture: None,
        })
        .collect();
    let mut h = harness_sized(s, egui::vec2(1000.0, 1600.0));
    h.get_by_label("untick to leave img3.png out").click();
    h.run();
    assert_eq!(h.state().requests, vec![Request::Deselect(103)]);
    h.state_mut().requests.clear();
    assert!(h.query_by_label("page 1 of 2").is_some());
    h.get_by_label(">").click();
    h.run();
    h.get_by_label("Copy to folder…").click();
    h.run();
    h.get_by_label("Link to folder…").click();
    h.run();
    h.get_by_label("Make a hotspot").click();
    h.run();
    assert_eq!(
        h.state().requests,
        vec![
            Request::SelectionPage(1),
            Request::TakeAway(Method::Copy),
            Request::TakeAway(Method::HardLink),
            Request::HotspotFromSelection(String::new()),
        ]
    );
}

#[test]
fn the_legend_filters_and_the_shortcut_sheet_lists_every_key() {
    use clip_plot::explore::colour::LegendEntry;
    let mut s = state();
    s.colour_by = Some("category".into());
    s.legend = vec![
        LegendEntry {
            label: "food".into(),
            colour: [78, 121, 167],
            count: 16,
            filter: None,
        },
        LegendEntry {
            label: "animals".into(),
            colour: [242, 142, 43],
            count: 40,
            filter: None,
        },
    ];
    s.show_help = true;
    let mut h = harness(s);
    h.run();
    for (keys, _) in ui::SHORTCUTS {
        assert!(
            h.query_by_label(keys).is_some(),
            "{keys} is not on the sheet"
        );
    }
    // The legend's rows are drawn over the map; each is a button.
    h.get_by_label("legend animals").click();
    h.run();
    assert!(
        h.state().requests.contains(&Request::LegendClick(1)),
        "{:?}",
        h.state().requests
    );
}
