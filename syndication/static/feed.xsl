<?xml version="1.0" encoding="UTF-8"?>
<!--
  A readable French page for a person who opens a feed URL in a browser.

  Every RSS 2.0 and Atom 1.0 document of the service names this stylesheet in an
  xml-stylesheet processing instruction: browsers that still apply XSLT (XSLT 1.0 only)
  show the page below; feed readers ignore the instruction and read the feed.
  The root element picks the format (rss or atom:feed); both end in the same page:
  the feed's title and description, what a feed is, how to subscribe (the address in a
  read-only field), then the items (title linked, date, summary, image).
  No script: everything works without JavaScript.
-->
<xsl:stylesheet version="1.0"
                xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:atom="http://www.w3.org/2005/Atom"
                xmlns:media="http://search.yahoo.com/mrss/"
                xmlns:content="http://purl.org/rss/1.0/modules/content/"
                xmlns:dc="http://purl.org/dc/elements/1.1/"
                exclude-result-prefixes="atom media content dc">

  <xsl:output method="html" encoding="UTF-8" indent="yes"
              doctype-system="about:legacy-compat"/>

  <!-- Root element: RSS 2.0 or Atom 1.0. -->
  <xsl:template match="/">
    <xsl:apply-templates select="rss | atom:feed"/>
  </xsl:template>

  <xsl:template match="rss">
    <xsl:call-template name="page">
      <xsl:with-param name="format" select="'RSS 2.0'"/>
      <xsl:with-param name="title" select="channel/title"/>
      <xsl:with-param name="description" select="channel/description"/>
      <xsl:with-param name="home" select="channel/link"/>
      <xsl:with-param name="self" select="channel/atom:link[@rel='self']/@href"/>
      <xsl:with-param name="first" select="channel/atom:link[@rel='first']/@href"/>
      <xsl:with-param name="newer" select="channel/atom:link[@rel='previous' or @rel='prev']/@href"/>
      <xsl:with-param name="older" select="channel/atom:link[@rel='next']/@href"/>
      <xsl:with-param name="publisher" select="/.."/>  <!-- RSS names none -->
      <xsl:with-param name="items" select="channel/item"/>
    </xsl:call-template>
  </xsl:template>

  <xsl:template match="atom:feed">
    <xsl:call-template name="page">
      <xsl:with-param name="format" select="'Atom 1.0'"/>
      <xsl:with-param name="title" select="atom:title"/>
      <xsl:with-param name="description" select="atom:subtitle"/>
      <xsl:with-param name="home" select="atom:link[@rel='alternate' or not(@rel)][1]/@href"/>
      <xsl:with-param name="self" select="atom:link[@rel='self']/@href"/>
      <xsl:with-param name="first" select="atom:link[@rel='first']/@href"/>
      <xsl:with-param name="newer" select="atom:link[@rel='previous' or @rel='prev']/@href"/>
      <xsl:with-param name="older" select="atom:link[@rel='next']/@href"/>
      <xsl:with-param name="publisher" select="atom:author[1]/atom:name"/>
      <xsl:with-param name="items" select="atom:entry"/>
    </xsl:call-template>
  </xsl:template>

  <!-- The page, whatever the format. -->
  <xsl:template name="page">
    <xsl:param name="format"/>
    <xsl:param name="title"/>
    <xsl:param name="description"/>
    <xsl:param name="home"/>
    <xsl:param name="self"/>
    <xsl:param name="first"/>
    <xsl:param name="newer"/>
    <xsl:param name="older"/>
    <xsl:param name="publisher"/>
    <xsl:param name="items"/>
    <!-- The address to subscribe to: the first page (with the same filters), else this one. -->
    <xsl:variable name="address">
      <xsl:choose>
        <xsl:when test="string($first)"><xsl:value-of select="$first"/></xsl:when>
        <xsl:otherwise><xsl:value-of select="$self"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <html lang="fr">
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> : flux <xsl:value-of select="$format"/></title>
        <style>
          :root { color-scheme: light; }
          body { margin: 0; background: #fff; color: #1e1e1e; line-height: 1.5;
                 font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
          header, main, footer { max-width: 48rem; margin: 0 auto; padding: 0 1rem; }
          a { color: #000091; text-decoration: underline; }
          a:hover { text-decoration-thickness: 2px; }
          a:focus, input:focus { outline: 3px solid #000091; outline-offset: 2px; }
          a:focus:not(:focus-visible), input:focus:not(:focus-visible) { outline: none; }
          a:focus-visible, input:focus-visible { outline: 3px solid #000091; outline-offset: 2px; }
          .evitement { position: absolute; left: -10000px; }
          .evitement:focus { position: static; display: inline-block; margin: .5rem 1rem; }
          .lecteur-ecran { position: absolute; width: 1px; height: 1px; overflow: hidden;
                           clip: rect(0 0 0 0); white-space: nowrap; }
          .bandeau { background: #e3e3fd; border-left: .3rem solid #000091; padding: .75rem 1rem; }
          .aide { background: #f6f6f6; padding: .5rem 1rem 1rem; margin: 1rem 0; }
          label { display: block; font-weight: bold; margin-top: .5rem; }
          input { box-sizing: border-box; width: 100%; font: inherit; padding: .5rem;
                  color: #1e1e1e; background: #fff; border: 1px solid #3a3a3a; }
          .contenus { list-style: none; padding: 0; }
          .contenus li { border-top: 1px solid #929292; padding: 1rem 0; overflow: hidden; }
          .contenus h3 { margin: 0 0 .25rem; font-size: 1.2rem; }
          .contenus figure { float: right; width: 10rem; max-width: 40%; margin: 0 0 .5rem 1rem; }
          .contenus img { display: block; width: 100%; height: auto; }
          .contenus figcaption { font-size: .8rem; color: #3a3a3a; }
          .date { color: #3a3a3a; margin: 0; }
          footer { border-top: 1px solid #929292; margin-top: 2rem; padding-bottom: 1rem; }
        </style>
      </head>
      <body>
        <a class="evitement" href="#contenus">Aller aux contenus du flux</a>
        <header>
          <p class="bandeau">Cette page est un <strong>flux</strong> : son adresse se copie dans
            un lecteur de flux pour être prévenu des nouveaux contenus.</p>
          <h1><xsl:value-of select="$title"/></h1>
          <xsl:if test="normalize-space($description) and string($description) != string($title)">
            <p class="description"><xsl:value-of select="$description"/></p>
          </xsl:if>
          <xsl:if test="normalize-space($publisher)">
            <p>Publié par <xsl:value-of select="$publisher"/>.</p>
          </xsl:if>
          <xsl:if test="starts-with($home, 'http')">
            <p><a href="{$home}">Voir la page d’origine sur le site<span class="lecteur-ecran"> :
              <xsl:value-of select="$title"/></span></a></p>
          </xsl:if>
        </header>
        <main>
          <section class="aide" aria-labelledby="quest-ce">
            <h2 id="quest-ce">Qu’est-ce qu’un flux ?</h2>
            <p>Un flux (<abbr title="Really Simple Syndication" lang="en">RSS</abbr> ou Atom)
              est une adresse qui annonce les nouveaux contenus d’un site. Un lecteur de flux la
              consulte pour vous et vous montre les nouveautés : plus besoin de revenir sur le site
              pour savoir ce qui a changé. Cette page en est la version lisible ; les lecteurs
              de flux, eux, lisent directement les données.</p>
          </section>
          <section class="aide" aria-labelledby="abonner">
            <h2 id="abonner">Comment s’abonner</h2>
            <ol>
              <li>Copiez l’adresse du flux ci-dessous.</li>
              <li>Dans votre lecteur de flux (Feedly, Inoreader, NetNewsWire, Thunderbird…),
                choisissez « Ajouter un flux » ou « S’abonner », puis collez l’adresse.</li>
              <li>Pour une lettre d’information, collez la même adresse dans votre outil
                d’envoi (campagne « RSS vers e-mail » de Mailchimp, Brevo…) : il reprendra
                les nouveaux contenus à chaque envoi.</li>
            </ol>
            <label for="adresse-flux">Adresse du flux (<xsl:value-of select="$format"/>)</label>
            <input id="adresse-flux" type="text" readonly="readonly" value="{$address}"/>
          </section>
          <section aria-labelledby="contenus">
            <h2 id="contenus">Contenus du flux</h2>
            <xsl:choose>
              <xsl:when test="$items">
                <ul class="contenus">
                  <xsl:apply-templates select="$items"/>
                </ul>
              </xsl:when>
              <xsl:otherwise>
                <p>Ce flux ne contient encore aucun contenu.</p>
              </xsl:otherwise>
            </xsl:choose>
            <xsl:if test="string($newer) or string($older)">
              <nav aria-label="Pages du flux">
                <ul>
                  <xsl:if test="string($newer)">
                    <li><a href="{$newer}" rel="prev">Contenus plus récents</a></li>
                  </xsl:if>
                  <xsl:if test="string($older)">
                    <li><a href="{$older}" rel="next">Contenus plus anciens</a></li>
                  </xsl:if>
                </ul>
              </nav>
            </xsl:if>
          </section>
        </main>
        <footer>
          <p>Format du flux : <xsl:value-of select="$format"/>. Les dates sont celles de
            publication.</p>
        </footer>
      </body>
    </html>
  </xsl:template>

  <!-- One item: RSS -->
  <xsl:template match="item">
    <xsl:call-template name="item">
      <xsl:with-param name="title" select="title"/>
      <xsl:with-param name="link" select="link"/>
      <xsl:with-param name="summary" select="description"/>
      <xsl:with-param name="image">
        <xsl:call-template name="image">
          <xsl:with-param name="enclosure" select="enclosure[starts-with(@type, 'image/')]/@url"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="credit" select="normalize-space(.//media:credit[1])"/>
      <xsl:with-param name="iso">
        <xsl:call-template name="rfc822-to-iso">
          <xsl:with-param name="value" select="normalize-space(pubDate)"/>
        </xsl:call-template>
      </xsl:with-param>
    </xsl:call-template>
  </xsl:template>

  <!-- One item: Atom -->
  <xsl:template match="atom:entry">
    <xsl:call-template name="item">
      <xsl:with-param name="title" select="atom:title"/>
      <xsl:with-param name="link" select="atom:link[@rel='alternate' or not(@rel)][1]/@href"/>
      <xsl:with-param name="summary" select="atom:summary"/>
      <xsl:with-param name="image">
        <xsl:call-template name="image">
          <xsl:with-param name="enclosure"
              select="atom:link[@rel='enclosure' and starts-with(@type, 'image/')]/@href"/>
        </xsl:call-template>
      </xsl:with-param>
      <xsl:with-param name="credit" select="normalize-space(.//media:credit[1])"/>
      <!-- Without a publication date, the entry says when it was updated, never "Publié". -->
      <xsl:with-param name="updated" select="not(atom:published)"/>
      <xsl:with-param name="iso">
        <xsl:choose>
          <xsl:when test="atom:published">
            <xsl:value-of select="substring(normalize-space(atom:published), 1, 10)"/>
          </xsl:when>
          <xsl:otherwise>
            <xsl:value-of select="substring(normalize-space(atom:updated), 1, 10)"/>
          </xsl:otherwise>
        </xsl:choose>
      </xsl:with-param>
    </xsl:call-template>
  </xsl:template>

  <xsl:template name="item">
    <xsl:param name="title"/>
    <xsl:param name="link"/>
    <xsl:param name="summary"/>
    <xsl:param name="image"/>
    <xsl:param name="iso"/>  <!-- YYYY-MM-DD, or empty -->
    <xsl:param name="credit"/>  <!-- the photo's credit, or empty -->
    <xsl:param name="updated" select="false()"/>  <!-- $iso is an update date -->
    <li>
      <article>
        <!-- Decorative next to the title that says the same: alt is empty on purpose. The
             credit travels with the photo. -->
        <xsl:if test="starts-with($image, 'http')">
          <figure>
            <img src="{$image}" alt="" loading="lazy"/>
            <xsl:if test="$credit">
              <figcaption>© <xsl:value-of select="$credit"/></figcaption>
            </xsl:if>
          </figure>
        </xsl:if>
        <h3>
          <xsl:choose>
            <xsl:when test="starts-with(normalize-space($link), 'http')">
              <a href="{normalize-space($link)}"><xsl:value-of select="$title"/></a>
            </xsl:when>
            <xsl:otherwise><xsl:value-of select="$title"/></xsl:otherwise>
          </xsl:choose>
        </h3>
        <xsl:if test="string-length($iso) = 10">
          <p class="date">
            <xsl:choose>
              <xsl:when test="$updated">Mis à jour le </xsl:when>
              <xsl:otherwise>Publié le </xsl:otherwise>
            </xsl:choose>
            <time datetime="{$iso}">
            <xsl:call-template name="french-date">
              <xsl:with-param name="iso" select="$iso"/>
            </xsl:call-template>
          </time></p>
        </xsl:if>
        <xsl:if test="normalize-space($summary)">
          <p class="resume"><xsl:value-of select="$summary"/></p>
        </xsl:if>
      </article>
    </li>
  </xsl:template>

  <!-- The item's image for a small picture: the thumbnail (300 px), else the full image
       (media:content, 600 px), else an image enclosure. -->
  <xsl:template name="image">
    <xsl:param name="enclosure"/>
    <xsl:variable name="thumbnail" select=".//media:thumbnail/@url"/>
    <xsl:variable name="content"
        select=".//media:content[@medium='image' or starts-with(@type, 'image/')]/@url"/>
    <xsl:choose>
      <xsl:when test="$thumbnail"><xsl:value-of select="$thumbnail[1]"/></xsl:when>
      <xsl:when test="$content"><xsl:value-of select="$content[1]"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$enclosure[1]"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- "Thu, 18 Jun 2026 00:00:00 +0200" (the weekday is optional) → "2026-06-18". -->
  <xsl:template name="rfc822-to-iso">
    <xsl:param name="value"/>
    <xsl:variable name="rest">
      <xsl:choose>
        <xsl:when test="contains($value, ',')">
          <xsl:value-of select="normalize-space(substring-after($value, ','))"/>
        </xsl:when>
        <xsl:otherwise><xsl:value-of select="$value"/></xsl:otherwise>
      </xsl:choose>
    </xsl:variable>
    <xsl:variable name="day" select="substring-before($rest, ' ')"/>
    <xsl:variable name="month-name" select="substring-before(substring-after($rest, ' '), ' ')"/>
    <xsl:variable name="year"
        select="substring(substring-after(substring-after($rest, ' '), ' '), 1, 4)"/>
    <xsl:variable name="months" select="'JanFebMarAprMayJunJulAugSepOctNovDec'"/>
    <xsl:if test="string-length($month-name) = 3 and contains($months, $month-name)
                  and number($day) = number($day) and number($year) = number($year)">
      <xsl:value-of select="concat($year, '-',
          format-number(string-length(substring-before($months, $month-name)) div 3 + 1, '00'),
          '-', format-number($day, '00'))"/>
    </xsl:if>
  </xsl:template>

  <!-- "2026-06-18" → "18 juin 2026"; the first of the month is "1er". -->
  <xsl:template name="french-date">
    <xsl:param name="iso"/>
    <xsl:variable name="day" select="number(substring($iso, 9, 2))"/>
    <xsl:variable name="month" select="number(substring($iso, 6, 2))"/>
    <xsl:choose>
      <xsl:when test="$day = 1">1er</xsl:when>
      <xsl:otherwise><xsl:value-of select="$day"/></xsl:otherwise>
    </xsl:choose>
    <xsl:text> </xsl:text>
    <xsl:choose>
      <xsl:when test="$month = 1">janvier</xsl:when>
      <xsl:when test="$month = 2">février</xsl:when>
      <xsl:when test="$month = 3">mars</xsl:when>
      <xsl:when test="$month = 4">avril</xsl:when>
      <xsl:when test="$month = 5">mai</xsl:when>
      <xsl:when test="$month = 6">juin</xsl:when>
      <xsl:when test="$month = 7">juillet</xsl:when>
      <xsl:when test="$month = 8">août</xsl:when>
      <xsl:when test="$month = 9">septembre</xsl:when>
      <xsl:when test="$month = 10">octobre</xsl:when>
      <xsl:when test="$month = 11">novembre</xsl:when>
      <xsl:otherwise>décembre</xsl:otherwise>
    </xsl:choose>
    <xsl:text> </xsl:text>
    <xsl:value-of select="substring($iso, 1, 4)"/>
  </xsl:template>

</xsl:stylesheet>
