// The rating pages: plain HTML forms, no scripts, every text escaped. A rater types a name, then
// sees one item at a time (a response with its scales, or a pair with left/right/tie buttons) and
// the progress; the page after a submission is sent only once the rating is committed.

import Evaluation
import Rating
import Foundation

/// HTML for the rating session's pages.
enum RatingPages {
    /// Styles added to the report page's (RunReport.page): a narrow column, framed texts, big buttons.
    static let style = """
        body{max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}
        .prompt{background:#f3f3f3;padding:.75rem 1rem;border-radius:6px;white-space:pre-wrap}
        .response{border:1px solid #ccc;padding:.75rem 1rem;border-radius:6px;white-space:pre-wrap;min-height:3rem}
        .pair{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
        fieldset{border:1px solid #ddd;border-radius:6px;margin:1rem 0}
        .scale label{display:inline-block;margin:0 .25rem;padding:.4rem .8rem;border:1px solid #999;border-radius:4px;cursor:pointer}
        .scale input{margin-right:.3rem}
        button{font-size:1rem;padding:.5rem 1.2rem;margin:.5rem .5rem .5rem 0;cursor:pointer}
        .saved{color:#176317}.error{color:#a01010}.muted{color:#666}
        """

    /// A rating page: the report page's shell (title as heading) with the rating styles.
    static func page(title: String, body: String) -> String { RunReport.page(title: title, body: body, style: style) }

    /// The start page: instructions, then a way on — back to rating for a signed-in rater, a name
    /// box when anyone may sign up, else a request to open one's personal link.
    static func start(_ configuration: RatingSessionConfiguration, items: Int, openSignUp: Bool, signedInAs rater: String?) -> String {
        let way: String
        if let rater {
            way = "<p><a id=continue href='/rate'>Go on rating as \(escapeHTML(rater))</a></p>"
        } else if openSignUp {
            way = """
                <form method=post action="/session">
                <label>Your name <input id=rater name=rater required maxlength=\(RatingDesk.maximumNameLength)></label>
                <button type=submit id=start>Start rating</button>
                </form>
                <p class=muted>A name is yours once you start: the page then gives you a personal link to come back with.</p>
                """
        } else {
            way = "<p id=invite-only>Open the personal link you were given to start rating.</p>"
        }
        return page(title: configuration.title, body: """
            <p>\(escapeHTML(configuration.instructions))</p>
            <p class=muted>\(items) items. Each rater sees every item once, in an order of their own; where a text came from is hidden.</p>
            \(way)
            """)
    }

    /// A personal link's page: go on as its rater (a same-site form post signs in).
    static func join(_ session: RaterSession, configuration: RatingSessionConfiguration, signedInAs current: String?) -> String {
        let switching = current.flatMap { $0 == session.rater ? nil : "<p class=muted id=switching>This browser rates as \(escapeHTML($0)) now; going on switches it to \(escapeHTML(session.rater)).</p>" } ?? ""
        return page(title: configuration.title, body: """
            <p>This is the personal link of <b id=link-rater>\(escapeHTML(session.rater))</b>.</p>
            \(switching)
            <form method=post action="/join"><input type=hidden name=token value='\(escapeHTML(session.token))'>
            <button type=submit id=join>Rate as \(escapeHTML(session.rater))</button></form>
            """)
    }

    /// The page for `task`, or the end page when `task` is nil.
    static func item(_ task: RatingTask?, session: RaterSession, configuration: RatingSessionConfiguration, saved: Bool, total: Int) -> String {
        let rater = session.rater
        let savedLine = saved ? "<p class=saved id=saved>Saved.</p>" : ""
        let link = "<p class=muted>Keep <a id=personal-link href='/join/\(escapeHTML(session.token))'>your personal link</a> to come back later or on another device; it is yours alone.</p>"
        guard let task else {
            return page(title: configuration.title, body: """
                \(savedLine)
                <p id=finished>All \(total) items are rated. Thank you, \(escapeHTML(rater)).</p>
                \(link)
                """)
        }
        let header = """
            \(savedLine)
            <p class=muted id=progress>Item \(task.done + 1) of \(task.total) · rating as \(escapeHTML(rater))</p>
            <progress value="\(task.done)" max="\(task.total)"></progress>
            <form method=post action="/rate" id=form>
            <input type=hidden name=csrf value='\(escapeHTML(session.csrf))'><input type=hidden name=item value='\(escapeHTML(task.item.id))'>
            """
        let prompt = task.item.prompt.isEmpty ? "" : "<p class=muted>Prompt</p><div class=prompt id=prompt>\(escapeHTML(task.item.prompt))</div>"
        if let (left, right) = task.leftAndRight {
            return page(title: configuration.title, body: header + prompt + """
                <div class=pair><div><p class=muted>Left</p><div class=response id=left>\(escapeHTML(left))</div></div>
                <div><p class=muted>Right</p><div class=response id=right>\(escapeHTML(right))</div></div></div>
                <p><label>Note (optional)<br><textarea name=note id=note rows=2 cols=60 maxlength=\(RatingDesk.maximumNoteLength)></textarea></label></p>
                <button type=submit name=choice value=left id=choose-left>Left is better</button>
                <button type=submit name=choice value=tie id=choose-tie>Tie</button>
                <button type=submit name=choice value=right id=choose-right>Right is better</button>
                </form>
                \(link)
                """)
        }
        var scales = ""
        for scale in configuration.scales {
            scales += "<fieldset class=scale><legend>\(escapeHTML(scale.question ?? scale.name))</legend>"
            if let low = scale.lowLabel { scales += "<span class=muted>\(escapeHTML(low))</span> " }
            for score in scale.scores {
                let name = escapeHTML(scale.name)
                scales += "<label for='\(name)-\(score)'><input type=radio required name='score_\(name)' id='\(name)-\(score)' value=\(score)>\(score)</label>"
            }
            if let high = scale.highLabel { scales += " <span class=muted>\(escapeHTML(high))</span>" }
            scales += "</fieldset>"
        }
        return page(title: configuration.title, body: header + prompt + """
            <p class=muted>Text</p><div class=response id=response>\(escapeHTML(task.item.response))</div>
            \(scales)<button type=submit id=save>Save and next</button></form>
            \(link)
            """)
    }

    /// A refused request: the status, the reason, and a way back.
    static func error(status: Int, message: String) -> String {
        page(title: "Error \(status)", body: "<p class=error id=error>\(escapeHTML(message))</p><p><a href='/rate'>Back to rating</a> · <a href='/'>Start page</a></p>")
    }
}
